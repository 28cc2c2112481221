// The exactness check of AP telemetry, shared by the CPU and CUDA suites: an SFT run records
// every step's per-sample scores; the weights before each step's update (θ_t) are captured by
// intercepting model.step; then each training sample's telemetry score is compared with
// activationPattern of that sample alone on a fresh model holding θ_t (same precision, same
// device), and each batch AP with activationPattern of the batch's samples.
import * as assert from 'uvu/assert';
import { activationPattern, GPT, sft, type GPTConfig, type Precision, type Sample } from '../../lib/index.js';
import type { Rng } from '../../lib/util/random.js';
import { tokenizer } from './tiny.js';

export const GPT2_CONFIG: GPTConfig = { vocabSize: tokenizer.vocabSize, maxSeqLen: 24, layers: 2, heads: 3, dim: 48 };
export const LLAMA_CONFIG: GPTConfig = {
  vocabSize: tokenizer.vocabSize, maxSeqLen: 24, layers: 2, heads: 4, kvHeads: 2, dim: 32, ffnDim: 40, norm: 'rmsnorm', normEps: 1e-5,
  positions: 'rope', ropeTheta: 10000, mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false,
};

/** Random prompt/response pairs of lowercase letters, of varied lengths (so batches are padded). */
export function randomSamples(rng: Rng, n: number): Sample[] {
  const word = (lo: number, hi: number) => Array.from({ length: lo + rng.int(hi - lo + 1) }, () => String.fromCharCode(97 + rng.int(26))).join('');
  return Array.from({ length: n }, () => ({ prompt: word(1, 9), response: word(1, 6) }));
}

/** Records the parameters before every call to step (θ_t for t = 0, 1, …). */
function capturing(model: GPT, thetas: Float32Array[]): GPT {
  return new Proxy(model, {
    get(target, key) {
      if (key === 'step') {
        return (o: Parameters<GPT['step']>[0]) => {
          thetas.push(target.exportParameters());
          return target.step(o);
        };
      }
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

export interface ExactnessResult {
  /** max over samples and steps of max_h |telemetry − activationPattern| / (the step's largest |score|). */
  sampleError: number;
  /** The same for the batch AP (mean |score|) against activationPattern of the batch, relative to its largest value. */
  apError: number;
  /** Scores compared. */
  compared: number;
}

export async function telemetryExactness(cfg: GPTConfig, o: { rng: Rng; device: 'cpu' | 'cuda'; precision: Precision; batchSize: number; steps: number }): Promise<ExactnessResult> {
  const data = randomSamples(o.rng, 11);
  const model = await GPT.create({ ...cfg, seed: o.rng.int(1000), device: o.device, precision: o.precision });
  assert.is(model.precision, o.precision);
  const thetas: Float32Array[] = [];
  const seen: number[] = [];
  const hist = await sft(capturing(model, thetas), data, {
    tokenizer, steps: o.steps, batchSize: o.batchSize, lr: 3e-3, seed: o.rng.int(1000), progress: false,
    telemetry: { perSample: true }, onTelemetry: (r) => seen.push(r.step),
  });
  model.dispose();
  assert.equal(hist.telemetry.map((r) => r.step), Array.from({ length: o.steps }, (_, t) => t));
  assert.equal(seen, hist.telemetry.map((r) => r.step));
  assert.is(thetas.length, o.steps);

  const { layers, heads } = cfg;
  const n = layers * heads;
  let sampleError = 0;
  let apError = 0;
  let compared = 0;
  for (const rec of hist.telemetry) {
    assert.is(rec.loss, hist.steps[rec.step]!.loss, 'the record carries its batch loss');
    const probe = await GPT.create({ ...cfg, device: o.device, precision: o.precision });
    probe.importParameters(thetas[rec.step]!);
    const ids = rec.samples!;
    assert.is(ids.length, o.batchSize);
    let scale = 0;
    for (const s of rec.scores!) scale = Math.max(scale, Math.abs(s));
    assert.ok(scale > 0, 'scores are not all zero');
    for (const [i, id] of ids.entries()) {
      const want = (await activationPattern(probe, [data[id]!], { tokenizer })).signed;
      for (let j = 0; j < n; j++) sampleError = Math.max(sampleError, Math.abs(rec.scores![i * n + j]! - want[j]!) / scale);
      compared += n;
    }
    const batchAP = await activationPattern(probe, ids.map((id) => data[id]!), { tokenizer });
    const apScale = Math.max(...batchAP.values);
    for (let j = 0; j < n; j++) apError = Math.max(apError, Math.abs(rec.ap[j]! - batchAP.values[j]!) / apScale);
    probe.dispose();
  }
  return { sampleError, apError, compared };
}
