// Full training steps (forward + backward + AdamW) of one GPT shape in a process of its own, so
// that the gemm implementation (HEADGRAD_GEMM) and the per-op timers (HEADGRAD_PROFILE=1) are
// set before the addon loads. Prints one JSON line:
//   {msPerStep (median), meanMsPerStep, tokensPerSec (from the median), profileMs: {op: mean ms per step},
//    gemmGflops, maxRssBytes}
// Usage: tsx scripts/bench/child/train-step.ts <vocab> <maxSeqLen> <layers> <heads> <dim> <batch> <seqLen> <steps> [switches]
//   switches: JSON of optional config fields (kvHeads, norm, positions, mlp, ...), default {}
import { GPT } from '../../../lib/index.js';

const [vocabSize, maxSeqLen, layers, heads, dim, batch, seqLen, steps] = process.argv.slice(2, 10).map(Number);
const switches = JSON.parse(process.argv[10] ?? '{}') as object;
const model = await GPT.create({ ...switches, vocabSize, maxSeqLen, layers, heads, dim, seed: 1, device: 'cpu' });
const n = batch * seqLen;
const tokens = Int32Array.from({ length: n }, (_, i) => (i * 7919) % vocabSize);
const targets = Int32Array.from({ length: n }, (_, i) => (i * 104729 + 1) % vocabSize);

async function trainStep(): Promise<number> {
  const t0 = performance.now();
  await model.forward(tokens, { batch, seqLen, targets });
  await model.backward();
  await model.step({ lr: 1e-4, weightDecay: 0.1, gradClip: 1 });
  return performance.now() - t0;
}

await trainStep(); // warm-up: activation planning, optimizer state, page faults
model.profile(true);
const times: number[] = [];
for (let s = 0; s < steps; s++) times.push(await trainStep());
const meanMsPerStep = times.reduce((a, b) => a + b, 0) / steps;
times.sort((a, b) => a - b);
const msPerStep = times[Math.floor(times.length / 2)];
const prof = model.profile()!;
const profileMs = Object.fromEntries(Object.entries(prof.ms).map(([k, v]) => [k, v / steps]));
console.log(JSON.stringify({
  msPerStep,
  meanMsPerStep,
  tokensPerSec: n / (msPerStep / 1000),
  profileMs,
  gemmGflops: prof.gemmFlops / (prof.ms.gemm / 1000) / 1e9,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
}));
model.dispose();
