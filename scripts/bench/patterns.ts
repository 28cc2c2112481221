// Activation-pattern extraction (forward + backward with per-sample loss weights, no step) on
// task samples: samples/s and tokens/s by batch size, and the largest relative difference from
// the batch-1 pattern (batching must only change the speed).
import { GPT, ByteTokenizer, getTask, activationPattern } from '../../lib/index.js';
import type { BenchSection, Json } from './types.js';

const CONFIG = { vocabSize: 260, maxSeqLen: 64, layers: 4, heads: 8, dim: 256, seed: 1 };
const SAMPLES = 64;
const BATCHES = [1, 8, 32];
const REPS = 3;

export async function run(): Promise<BenchSection> {
  const tokenizer = new ByteTokenizer();
  const samples = getTask('sort-reverse').generate(SAMPLES, 1);
  // tokens the model reads per sample: prompt · separator · response (eos is only a target)
  const tokens = samples.reduce((n, s) => n + tokenizer.encode(s.prompt).length + 1 + tokenizer.encode(s.response).length, 0);
  using model = await GPT.create(CONFIG);
  await activationPattern(model, samples.slice(0, 8), { tokenizer, batchSize: 8 }); // warm-up

  let reference: Float64Array | undefined;
  const rows: (string | number)[][] = [];
  const data: Json[] = [];
  for (const batchSize of BATCHES) {
    const times: number[] = [];
    let values = new Float64Array(0);
    for (let r = 0; r < REPS; r++) {
      const t0 = performance.now();
      values = (await activationPattern(model, samples, { tokenizer, batchSize })).values;
      times.push(performance.now() - t0);
    }
    reference ??= values;
    const maxRelDiff = Math.max(...values.map((v, j) => Math.abs(v - reference![j]!) / Math.abs(reference![j]!)));
    const ms = times.sort((a, b) => a - b)[Math.floor(REPS / 2)]!;
    rows.push([batchSize, ms.toFixed(0), (SAMPLES / (ms / 1000)).toFixed(0), (tokens / (ms / 1000)).toFixed(0), maxRelDiff.toExponential(1)]);
    data.push({ batchSize, medianMs: ms, samplesPerSecond: SAMPLES / (ms / 1000), tokensPerSecond: tokens / (ms / 1000), maxRelDiffVsBatch1: maxRelDiff });
  }
  return {
    title: `Activation patterns: ${SAMPLES} sort-reverse samples, L=${CONFIG.layers} H=${CONFIG.heads} C=${CONFIG.dim}, CPU (median of ${REPS})`,
    columns: ['batch', 'ms', 'samples/s', 'tokens/s', 'max rel diff vs batch 1'],
    rows,
    data: { config: CONFIG, samples: SAMPLES, tokens, runs: data },
  };
}
