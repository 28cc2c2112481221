// CPU attention against the machine's gemm rate, measured in the same run and interleaved:
// forward and backward GFLOP/s (FlashAttention's convention: forward 4·B·H·T²·D, halved when
// causal; backward 2.5× that) beside the f32 gemm the engine runs (1024³), for 8 heads of
// T ∈ {256, 1024}, D = 64, causal and not. Goals: forward >= 0.6× and backward >= 0.5× the gemm.
import { attentionBackward, attentionForward, backendInfo, type AttentionShape } from '../../lib/index.js';
import { native } from '../../lib/native.js';
import type { BenchSection, Json } from './types.js';

const REPS = 7;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<BenchSection> {
  const rows: (string | number)[][] = [];
  const data: Json[] = [];
  for (const seqLen of [256, 1024]) {
    for (const causal of [false, true]) {
      const shape: AttentionShape = { batch: 8, heads: 1, seqLen, headDim: 64 };
      const n = shape.batch * shape.heads * seqLen * shape.headDim;
      const rand = () => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
      const [q, k, v, dout] = [rand(), rand(), rand(), rand()];
      const opts = { device: 'cpu' as const, causal };
      const f = await attentionForward(q, k, v, shape, opts);  // warm-up
      await attentionBackward(dout, q, k, v, f.out, f.lse, shape, opts);
      const fwd: number[] = [], bwd: number[] = [], gemm: number[] = [];
      for (let r = 0; r < REPS; r++) {  // interleaved: machine load hits all three alike
        let t0 = performance.now();
        await attentionForward(q, k, v, shape, opts);
        fwd.push(performance.now() - t0);
        t0 = performance.now();
        await attentionBackward(dout, q, k, v, f.out, f.lse, shape, opts);
        bwd.push(performance.now() - t0);
        gemm.push(native.gemmRateSync({ m: 1024, n: 1024, k: 1024 }).gflops);
      }
      const flops = (4 * shape.batch * shape.heads * seqLen ** 2 * shape.headDim) / (causal ? 2 : 1);
      const gf = flops / median(fwd) / 1e6, gb = (2.5 * flops) / median(bwd) / 1e6, gg = median(gemm);
      rows.push([`${shape.batch}×${seqLen}×64`, causal ? 'causal' : 'full', gf.toFixed(1), gb.toFixed(1), gg.toFixed(1),
        `${(gf / gg).toFixed(2)}x`, `${(gb / gg).toFixed(2)}x`]);
      data.push({ shape: { ...shape }, causal, forwardMs: fwd, backwardMs: bwd, gemmGflops: gemm, forwardGflops: gf, backwardGflops: gb });
    }
  }
  const info = backendInfo().cpu;
  return {
    title: `CPU attention vs the f32 gemm (${info.gemm}), ${info.threads} threads, interleaved (median of ${REPS})`,
    columns: ['B×T×D', 'mask', 'fwd GFLOP/s', 'bwd GFLOP/s', 'gemm GFLOP/s', 'fwd/gemm', 'bwd/gemm'],
    rows,
    data,
  };
}
