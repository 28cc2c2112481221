// SFT batches through the GPT: the engine's weighted loss equals Σ w·CE recomputed in float64
// from its logits, and with 'batch' weighting it is the mean of the per-sample mean losses
// (docs/method.md), whatever the padding.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GPT, ByteTokenizer, getTask, parameterCount, type Sample } from '../lib/index.js';
import { makeBatch } from '../lib/utils.js';
import { Rng } from '../lib/util/random.js';
import { testSeed } from './helpers/seed.js';
import { within } from './helpers/compare.js';

const SEED = testSeed('batch-gpt');

const tok = new ByteTokenizer();
const cfg = { vocabSize: tok.vocabSize, maxSeqLen: 48, layers: 1, heads: 2, dim: 16 };

// Σ_t w_t · (logsumexp(logits_t) - logits_t[target_t]) in float64
function referenceLoss(logits: Float32Array, targets: Int32Array, weights: Float32Array, V: number): number {
  let loss = 0;
  for (let t = 0; t < targets.length; t++) {
    if (targets[t]! < 0 || weights[t] === 0) continue;
    const row = logits.subarray(t * V, (t + 1) * V);
    const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(row[v]! - max);
    loss += weights[t]! * (max + Math.log(sum) - row[targets[t]!]!);
  }
  return loss;
}

test('weighted batch loss = float64 reference = mean of per-sample losses', async () => {
  const model = await GPT.create({ ...cfg, device: 'cpu', seed: (SEED + 3) >>> 0 });
  try {
    // weights far from the 0.02 init, so per-token losses differ and a wrong weighting shows
    const rng = new Rng(SEED + 5);
    model.importParametersSync(Float32Array.from({ length: parameterCount(cfg) }, () => 0.3 * rng.normal()));
    // different lengths, so rows are padded differently
    const samples: Sample[] = [...getTask('reverse').generate(2, 1), ...getTask('add').generate(2, 1), ...getTask('lookup').generate(1, 1)];
    const b = makeBatch(samples, tok, { maxSeqLen: cfg.maxSeqLen });
    const { loss, logits } = await model.forward(b.tokens, { batch: b.batch, seqLen: b.seqLen, targets: b.targets, lossWeights: b.lossWeights, returnLogits: true });
    const ref = referenceLoss(logits!, b.targets, b.lossWeights, cfg.vocabSize);
    within('batch-gpt: loss vs reference, relative', Math.abs(loss - ref) / ref, 1e-5, `engine ${loss} vs reference ${ref}`);

    let perSample = 0;
    for (const s of samples) {
      const one = makeBatch([s], tok, { maxSeqLen: cfg.maxSeqLen, weighting: 'sample' });
      perSample += (await model.forward(one.tokens, { batch: 1, seqLen: one.seqLen, targets: one.targets, lossWeights: one.lossWeights })).loss;
    }
    perSample /= samples.length;
    within('batch-gpt: batch loss vs mean of per-sample losses, relative', Math.abs(loss - perSample) / perSample, 1e-5, `batch ${loss} vs mean of per-sample ${perSample}`);
  } finally {
    model.dispose();
  }
});

test.run();
