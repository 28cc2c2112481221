// What longrope costs beside plain RoPE, on the CPU (docs/families.md#longrope):
// 1. GPT.create at Phi-3 128k's table size (131072 positions, head size 96, original context
//    4096): the short and long cos/sin tables, computed in float64 at creation, and their bytes;
// 2. greedy generation of --new tokens from a prompt of --prompt tokens on a small Phi-3-shaped
//    model whose original context --original lies inside that span: the sequence crosses it once,
//    and generate() recomputes the whole cache there (as transformers' Phi-3 does). Plain RoPE of
//    the same shape is timed beside it; the difference is that one prefill.
// Median of --reps runs after a warm-up.
//   node --import tsx scripts/bench-longrope.ts [--prompt 1000] [--new 48] [--original 1024] [--dim 512] [--reps 5]
import { parseArgs } from 'node:util';
import { GPT, type GPTConfig } from '../lib/index.js';
import { Rng } from '../lib/util/random.js';

const { values: a } = parseArgs({
  options: {
    prompt: { type: 'string', default: '1000' }, new: { type: 'string', default: '48' }, original: { type: 'string', default: '1024' },
    dim: { type: 'string', default: '512' }, reps: { type: 'string', default: '5' },
  },
});
const n0 = Number(a.prompt), n = Number(a.new), om = Number(a.original), C = Number(a.dim), reps = Number(a.reps);
if (!(om >= n0 && om < n0 + n)) throw new RangeError(`--original ${om}: expected in [--prompt, --prompt + --new), so that generation crosses it`);
const median = (xs: number[]) => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const longrope = (hs: number, original: number, max: number): GPTConfig['ropeScaling'] => ({
  type: 'longrope', shortFactor: Array.from({ length: hs / 2 }, (_, i) => 1 + i / hs), longFactor: Array.from({ length: hs / 2 }, (_, i) => 1 + i),
  originalMaxPositions: original, attentionFactor: Math.sqrt(1 + Math.log(max / original) / Math.log(original)),
});
const llama = { norm: 'rmsnorm', positions: 'rope', mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false } as const;

// 1. the tables at Phi-3 mini 128k's size (a one-layer model of width 192: head size 96)
for (const ropeScaling of [null, longrope(96, 4096, 131072)]) {
  const cfg: GPTConfig = { ...llama, vocabSize: 100, maxSeqLen: 131072, layers: 1, heads: 2, dim: 192, ffnDim: 256, ropeScaling };
  const times: number[] = [];
  let other = 0;
  for (let r = 0; r <= reps; r++) {
    const t0 = performance.now();
    const m = await GPT.create({ ...cfg, seed: 1, device: 'cpu' });
    if (r > 0) times.push(performance.now() - t0);
    other = m.residentBytes().other;
    m.dispose();
  }
  console.log(`GPT.create, 131072 positions, head size 96, ${ropeScaling ? 'longrope (original 4096)' : 'plain RoPE'}: ${median(times).toFixed(1)} ms, tables and gates ${(other / 2 ** 20).toFixed(1)} MiB`);
}

// 2. generation across the original context
const P = n0 + n;
const base: GPTConfig = { ...llama, vocabSize: 1000, maxSeqLen: P, layers: 2, heads: 8, kvHeads: 2, dim: C, ffnDim: 2 * C };
const rng = new Rng(1);
const prompt = Int32Array.from({ length: n0 }, () => rng.int(base.vocabSize));
for (const ropeScaling of [null, longrope(C / 8, om, P)]) {
  const m = await GPT.create({ ...base, ropeScaling, seed: 1, device: 'cpu' });
  const times: number[] = [];
  for (let r = 0; r <= reps; r++) {
    const t0 = performance.now();
    await m.generate(prompt, { maxNewTokens: n });
    if (r > 0) times.push(performance.now() - t0);
  }
  const what = ropeScaling ? `longrope, original ${om} (one recompute of ${om + 1} positions)` : 'plain RoPE';
  console.log(`generate ${n} tokens after ${n0}, dim ${C}, ${what}: ${median(times).toFixed(1)} ms`);
  m.dispose();
}
