// GPT training throughput on the GPU: runs the C++ benchmark build/bench_train_cuda (a full
// step — forward, backward with head scores, AdamW — through the engine's CUDA ops tables, f32
// and bf16, for L4 H8 C256 at 8×128 and GPT-2 small at 16×1024) and tabulates its JSON. Without
// a usable GPU or without the binary (a build without CUDA) the section says why and has no rows.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo } from '../../lib/index.js';
import type { BenchSection, Json } from './types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = path.join(root, process.env.HEADGRAD_BUILD_DIR || 'build', 'bench_train_cuda');
const columns = ['model', 'precision', 'batch', 'ms/step', 'tokens/s', 'head scores/s'];

interface Row { shape: string; precision: string; batch: number; seqLen: number; msPerStep: number; tokensPerSec: number; headScoresPerSec: number }

export async function run(): Promise<BenchSection> {
  const cuda = backendInfo().cuda;
  const skipped = (why: string): BenchSection => ({ title: `GPT training step on the GPU (skipped: ${why})`, columns, rows: [], data: { skipped: why } });
  if (!cuda.available) return skipped(cuda.reason ?? 'no usable GPU');
  if (!existsSync(binary)) return skipped(`${binary} is missing (build with HEADGRAD_CUDA=ON)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'headgrad-bench-train-cuda-'));
  try {
    const out = path.join(dir, 'train.json');
    const r = spawnSync(binary, ['--out', out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bench train-cuda: ${binary} failed: ${r.stderr}`);
    const result = JSON.parse(readFileSync(out, 'utf8')) as { device: string; rows: Row[] };
    return {
      title: `GPT training step on ${result.device} (forward + backward with head scores + AdamW)`,
      columns,
      rows: result.rows.map((x) => [x.shape, x.precision, `${x.batch}x${x.seqLen}`, x.msPerStep.toFixed(2),
        x.tokensPerSec.toFixed(0), x.headScoresPerSec.toFixed(0)]),
      data: result as unknown as Json,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
