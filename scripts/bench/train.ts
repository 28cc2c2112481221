// GPT training throughput on the CPU: tokens/s of a full step (forward + backward + AdamW) at
// two shapes, with each gemm implementation (the hand-written blocked kernel and OpenBLAS when
// linked), the gemm rate at the engine's real shapes, and the share of step time spent in
// attention versus gemm (from the engine's per-op timers).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo } from '../../lib/index.js';
import type { BenchSection, Json } from './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Shape {
  name: string; vocab: number; maxSeqLen: number; layers: number; heads: number; dim: number; batch: number; seqLen: number; steps: number;
  switches?: object; // optional config fields (the Llama-family switches)
}
const shapes: Shape[] = [
  { name: 'L4 H8 C256', vocab: 256, maxSeqLen: 128, layers: 4, heads: 8, dim: 256, batch: 8, seqLen: 128, steps: 5 },
  // the same size as a Llama: GQA 8/2, RMSNorm, RoPE, SwiGLU (F 688 keeps the MLP's parameter count), no biases, untied head
  { name: 'Llama L4 H8 KV2 C256', vocab: 256, maxSeqLen: 128, layers: 4, heads: 8, dim: 256, batch: 8, seqLen: 128, steps: 5,
    switches: { kvHeads: 2, ffnDim: 688, norm: 'rmsnorm', positions: 'rope', mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false } },
  { name: 'GPT-2 small', vocab: 50257, maxSeqLen: 1024, layers: 12, heads: 12, dim: 768, batch: 4, seqLen: 64, steps: 3 },
];

interface ChildResult { msPerStep: number; meanMsPerStep: number; tokensPerSec: number; profileMs: Record<string, number>; gemmGflops: number; maxRssBytes: number }

function runChild(s: Shape, gemm: string): ChildResult {
  const args = [...[s.vocab, s.maxSeqLen, s.layers, s.heads, s.dim, s.batch, s.seqLen, s.steps].map(String), JSON.stringify(s.switches ?? {})];
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'child', 'train-step.ts'), ...args], {
    encoding: 'utf8', env: { ...process.env, HEADGRAD_GEMM: gemm, HEADGRAD_PROFILE: '1' },
  });
  if (r.status !== 0) throw new Error(`bench train: ${s.name} with gemm=${gemm} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)}%`;

export async function run(): Promise<BenchSection> {
  const gemms = backendInfo().cpu.blas ? ['blocked', 'blas'] : ['blocked'];
  const rows: (string | number)[][] = [];
  const data: Json[] = [];
  for (const s of shapes) {
    for (const gemm of gemms) {
      const r = runChild(s, gemm);
      // shares: the timers' mean per step over the mean step (the same steps on both sides)
      const p = r.profileMs, mean = r.meanMsPerStep;
      rows.push([s.name, `${s.batch}x${s.seqLen}`, gemm === 'blas' ? 'openblas' : gemm, r.msPerStep.toFixed(0),
        r.tokensPerSec.toFixed(0), r.gemmGflops.toFixed(1), pct(p.gemm, mean), pct(p.attention, mean),
        pct(mean - p.gemm - p.attention, mean)]);
      data.push({ shape: { ...s }, gemm, ...r } as unknown as Json);
    }
  }
  return {
    title: `GPT training step on the CPU (${backendInfo().cpu.threads} threads)`,
    columns: ['model', 'batch', 'gemm', 'ms/step (median)', 'tokens/s', 'gemm GFLOP/s', 'gemm', 'attention', 'other'],
    rows,
    data,
  };
}
