// What a sliding window saves in the fused CPU attention: a one-layer Mistral-shaped model at a
// long context, timed with full causal attention and with slidingWindow = --window, forward +
// backward (and scores-only forward + backward) per call, median of --reps calls after a warm-up.
// The masked key tiles are skipped, so the attention part should shrink by about T / window.
// --softcap C adds a run with Gemma 2's attention-logit cap (attnSoftcap C, full causal): capped
// calls run the portable kernels, not the AVX-512 ones, and pay a tanh per score.
//   node --import tsx scripts/bench-window.ts [--seq 4096] [--window 512] [--dim 512] [--heads 8] [--reps 5] [--softcap 50]
// HEADGRAD_PROFILE=1 also prints the attention share of each (the engine's op profile).
import { parseArgs } from 'node:util';
import { GPT } from '../lib/index.js';
import { Rng } from '../lib/util/random.js';

const { values: a } = parseArgs({
  options: {
    seq: { type: 'string', default: '4096' }, window: { type: 'string', default: '512' }, dim: { type: 'string', default: '512' },
    heads: { type: 'string', default: '8' }, reps: { type: 'string', default: '5' }, softcap: { type: 'string', default: '0' },
  },
});
const T = Number(a.seq), W = Number(a.window), C = Number(a.dim), H = Number(a.heads), reps = Number(a.reps), cap = Number(a.softcap);
const base = {
  vocabSize: 1000, maxSeqLen: T, layers: 1, heads: H, kvHeads: Math.max(1, H / 4), dim: C, ffnDim: 2 * C, norm: 'rmsnorm', normEps: 1e-5,
  positions: 'rope', mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false,
} as const;
const rng = new Rng(1);
const tokens = Int32Array.from({ length: T }, () => rng.int(base.vocabSize));
const targets = Int32Array.from({ length: T }, () => rng.int(base.vocabSize));

const median = (xs: number[]) => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const runs: [number, number][] = [[0, 0], [W, 0], ...(cap > 0 ? [[0, cap] as [number, number]] : [])];
for (const [window, softcap] of runs) {
  const model = await GPT.create({ ...base, slidingWindow: window, attnSoftcap: softcap, seed: 1, device: 'cpu' });
  for (const scoresOnly of [false, true]) {
    const times: number[] = [];
    model.profile(true); // reset (null unless HEADGRAD_PROFILE=1)
    for (let r = 0; r <= reps; r++) {
      const t0 = performance.now();
      await model.forward(tokens, { batch: 1, seqLen: T, targets, scoresOnly });
      await model.backward({ scoresOnly });
      if (r > 0) times.push(performance.now() - t0); // the first call warms up
    }
    const prof = model.profile();
    const attn = prof ? ` (attention ${(prof.ms.attention! / (reps + 1)).toFixed(1)} ms/call)` : '';
    const kind = `${window ? `window ${window}` : 'full causal'}${softcap ? ` attnSoftcap ${softcap}` : ''}${scoresOnly ? ' scores-only' : ''}`;
    console.log(`T ${T} ${kind}: ${median(times).toFixed(1)} ms per forward+backward${attn}`);
  }
  model.dispose();
}
