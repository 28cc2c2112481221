// Prints one JSON line of SHA-256 digests of what the engine, sft and activationPattern compute
// for fixed inputs, so that a test can compare runs made with different HEADGRAD_THREADS in
// separate processes (the thread count is read once, at load). Sizes are large enough that
// every parallel loop (gemm, attention, LayerNorm, loss, AdamW) splits its work.
import { createHash } from 'node:crypto';
import { GPT } from '../../lib/model.js';
import { activationPattern } from '../../lib/patterns/activation.js';
import { sft } from '../../lib/sft.js';
import { Rng } from '../../lib/util/random.js';
import { easyTask, tokenizer, variedSamples } from './tiny.js';

const digest = (...arrays: ArrayBufferView[]) => {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
};

const cfg = { vocabSize: 260, maxSeqLen: 96, layers: 2, heads: 4, dim: 64 };
const out: Record<string, string> = {};

// engine: logits, loss, head scores, gradients over three AdamW steps (clipping, decay, a gated head)
{
  const model = await GPT.create({ ...cfg, seed: 3, device: 'cpu' });
  const rng = new Rng(3);
  const B = 4, T = 90;
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));
  const targets = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));
  model.setHeadGates(Float32Array.from({ length: 8 }, (_, i) => (i === 5 ? 0.5 : 1)));
  const forward: ArrayBufferView[] = [];
  const training: ArrayBufferView[] = [];
  for (let s = 0; s < 3; s++) {
    const f = await model.forward(tokens, { batch: B, seqLen: T, targets, returnLogits: true });
    const { headScores } = await model.backward();
    (s === 0 ? forward : training).push(f.logits!, Float64Array.of(f.loss), headScores);
    training.push(model.exportGradients());
    await model.step({ lr: 1e-2, weightDecay: 0.1, gradClip: 1 });
  }
  training.push(model.exportParametersSync());
  out.forward = digest(...forward); // logits, loss and head scores before any step
  out.training = digest(...training); // gradients, later steps, parameters
  model.dispose();
}

// sft: a few steps on the easy task, then the parameters and the recorded losses
{
  const model = await GPT.create({ ...cfg, seed: 4, device: 'cpu' });
  const data = easyTask('abcdefghijklmnop'); // 48 samples: batches of 48 rows
  const h = await sft(model, data, { tokenizer, steps: 4, batchSize: 48, lr: 1e-2, warmupSteps: 2, seed: 1, progress: false });
  out.sft = digest(model.exportParametersSync(), Float64Array.from(h.steps.map((s) => s.loss)));
  model.dispose();
}

// activationPattern: batches of several lengths
{
  const model = await GPT.create({ ...cfg, seed: 5, device: 'cpu' });
  const ap = await activationPattern(model, variedSamples(13), { tokenizer, batchSize: 5 });
  out.activation = digest(ap.values, ap.signed);
  model.dispose();
}

console.log(JSON.stringify(out));
