// CPU fused attention: forward and backward throughput (FlashAttention's FLOP convention),
// the cost of capturing the per-head score, and peak memory, including one long sequence run
// in a child process to show that nothing grows with T².
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { attentionBackward, attentionForward, backendInfo, type AttentionShape } from '../../lib/index.js';
import type { BenchSection, Json } from './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cpu = { device: 'cpu' as const, causal: true };

// FlashAttention's convention: forward 4·B·H·T²·D, backward 2.5× that, halved when causal.
const forwardFlops = (s: AttentionShape) => (4 * s.batch * s.heads * s.seqLen ** 2 * s.headDim) / 2;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function measure(shape: AttentionShape, reps: number) {
  const n = shape.batch * shape.heads * shape.seqLen * shape.headDim;
  const rand = () => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
  const [q, k, v, dout] = [rand(), rand(), rand(), rand()];
  const f = await attentionForward(q, k, v, shape, cpu);  // warm-up (thread pool, page faults)
  const bwd = (captureScore: boolean) => () =>
    attentionBackward(dout, q, k, v, f.out, f.lse, shape, { ...cpu, captureScore });
  await bwd(true)();
  const fwd: number[] = [], on: number[] = [], off: number[] = [];
  for (let r = 0; r < reps; r++) {  // interleaved, so drift in machine load hits both sides
    fwd.push(await time(() => attentionForward(q, k, v, shape, cpu)));
    on.push(await time(bwd(true)));
    off.push(await time(bwd(false)));
  }
  return { forwardMs: median(fwd), backwardMs: median(on), backwardNoCaptureMs: median(off) };
}

function longRun(shape: AttentionShape) {
  const child = path.join(here, 'child', 'attention-long.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, ...[shape.batch, shape.heads, shape.seqLen, shape.headDim].map(String)],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench attention: the T=${shape.seqLen} child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { forwardMs: number; backwardMs: number; maxRssBytes: number };
}

export async function run(): Promise<BenchSection> {
  const rows: (string | number)[][] = [];
  const data: Json[] = [];
  for (const [seqLen, reps] of [[128, 41], [512, 15], [2048, 5]]) {
    const shape = { batch: 1, heads: 8, seqLen, headDim: 64 };
    const m = await measure(shape, reps);
    const gfwd = forwardFlops(shape) / m.forwardMs / 1e6;
    const gbwd = (2.5 * forwardFlops(shape)) / m.backwardMs / 1e6;
    const overhead = m.backwardMs / m.backwardNoCaptureMs;
    const rss = process.resourceUsage().maxRSS * 1024;
    rows.push(['1×8', seqLen, 64, m.forwardMs.toFixed(2), gfwd.toFixed(1), m.backwardMs.toFixed(2), gbwd.toFixed(1),
      overhead.toFixed(3), mib(rss), '']);
    data.push({ shape: { ...shape }, reps, ...m, forwardGflops: gfwd, backwardGflops: gbwd, captureRatio: overhead, maxRssBytes: rss });
  }
  const long = { batch: 1, heads: 4, seqLen: 8192, headDim: 64 };
  const l = longRun(long);
  const dense = long.batch * long.heads * long.seqLen ** 2 * 4;  // one T×T f32 matrix per head
  rows.push(['1×4', long.seqLen, 64, l.forwardMs.toFixed(0), (forwardFlops(long) / l.forwardMs / 1e6).toFixed(1),
    l.backwardMs.toFixed(0), ((2.5 * forwardFlops(long)) / l.backwardMs / 1e6).toFixed(1), '-', mib(l.maxRssBytes), mib(dense)]);
  data.push({ shape: { ...long }, reps: 1, ...l, denseScoresBytes: dense, note: 'child process, one run' });
  return {
    title: `CPU attention, causal, f32 (${backendInfo().cpu.threads} threads, ${backendInfo().cpu.simd})`,
    columns: ['B×H', 'T', 'D', 'fwd ms', 'fwd GFLOP/s', 'bwd ms', 'bwd GFLOP/s', 'score on/off', 'peak RSS MiB', 'T×T f32 MiB'],
    rows,
    data,
  };
}
