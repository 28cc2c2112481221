// One long-sequence forward + backward in a process of its own, so that its peak RSS is its
// own: prints {seqLen, forwardMs, backwardMs, maxRssBytes} as one JSON line.
// Usage: tsx scripts/bench/child/attention-long.ts <batch> <heads> <seqLen> <headDim>
import { attentionBackward, attentionForward } from '../../../lib/index.js';

const [batch, heads, seqLen, headDim] = process.argv.slice(2).map(Number);
const shape = { batch, heads, seqLen, headDim };
const n = batch * heads * seqLen * headDim;
const fill = (seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.618 + seed));
const [q, k, v, dout] = [1, 2, 3, 4].map(fill);

const t0 = performance.now();
const f = await attentionForward(q, k, v, shape, { device: 'cpu' });
const t1 = performance.now();
await attentionBackward(dout, q, k, v, f.out, f.lse, shape, { device: 'cpu' });
const t2 = performance.now();
console.log(JSON.stringify({
  seqLen, forwardMs: t1 - t0, backwardMs: t2 - t1, maxRssBytes: process.resourceUsage().maxRSS * 1024,
}));
