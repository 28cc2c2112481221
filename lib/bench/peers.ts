// Peers: the same work through headgrad and through PyTorch (scripts/bench_peers_torch.py, run
// by /usr/bin/python3 or python3, whichever imports torch), same shapes, same thread count,
// repetitions interleaved so that a noisy machine slows both sides alike. Ratios > 1 mean
// headgrad is faster. Run by `headgrad bench` and by `HEADGRAD_BENCH=peers npm run bench`.
// Work:
// - pattern extraction: forward + backward for the per-head gate scores ∂L/∂ξ, weights frozen,
//   loss weighted per sample over the response half of each row (the first half is the prompt);
//   headgrad runs its scores-only pass, PyTorch the gate method (a gate per head and sample) with
//   the LM head likewise only at positions with a target; f32 and bf16 autocast.
// - training step: forward (mean CE), backward, clipping at 1, AdamW; f32 and bf16 autocast.
// headgrad f32 and (where the CPU has bf16 instructions) bf16; PyTorch f32 and bf16 autocast.
// Ceilings beside them: the gemms the engine runs (f32; bf16 through oneDNN), PyTorch's matmul.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { backendInfo } from '../backend.js';
import { GPT } from '../model.js';
import { native } from '../native.js';
import { Rng } from '../util/random.js';
import type { BenchSection, Json } from './types.js';
import { HeadgradError, HeadgradRangeError } from '../errors.js';

// lib/bench/ and dist/bench/ both sit two levels below the package root, beside scripts/.
const torchScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'bench_peers_torch.py');

interface Cfg { vocabSize: number; maxSeqLen: number; layers: number; heads: number; dim: number }
const gpt2small: Cfg = { vocabSize: 50257, maxSeqLen: 1024, layers: 12, heads: 12, dim: 768 };
const l4: Cfg = { vocabSize: 256, maxSeqLen: 128, layers: 4, heads: 8, dim: 256 };
interface Work { kind: 'pattern' | 'train'; name: string; cfg: Cfg; samples: number; batch: number; seqLen: number }
const works: Work[] = [
  { kind: 'pattern', name: 'GPT-2 small', cfg: gpt2small, samples: 16, batch: 16, seqLen: 128 },
  { kind: 'pattern', name: 'L4 H8 C256', cfg: l4, samples: 64, batch: 16, seqLen: 128 },
  { kind: 'train', name: 'L4 H8 C256', cfg: l4, samples: 8, batch: 8, seqLen: 128 },
  { kind: 'train', name: 'GPT-2 small', cfg: gpt2small, samples: 4, batch: 4, seqLen: 64 },
];

/** The python that imports torch, or why there is none. */
function findTorch(): { python: string } | { reason: string } {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return { python };
  }
  return { reason: 'no python3 that can `import torch` (Debian: apt-get install python3-torch)' };
}

/** PyTorch's side: one python process running scripts/bench_peers_torch.py, a JSON line per request. */
export class Torch {
  #proc: ChildProcessWithoutNullStreams;
  #lines: AsyncIterator<string>;
  constructor(python: string) {
    this.#proc = spawn(python, [torchScript], { stdio: 'pipe' });
    this.#proc.stderr.on('data', (d) => process.stderr.write(d));
    // A process that failed to start or ended early is reported by call(), as ERR_HEADGRAD_PEER.
    this.#proc.on('error', () => {});
    this.#proc.stdin.on('error', () => {});
    this.#lines = createInterface({ input: this.#proc.stdout })[Symbol.asyncIterator]();
  }
  async call(req: Record<string, unknown>): Promise<Record<string, any>> {
    this.#proc.stdin.write(JSON.stringify(req) + '\n');
    const { value, done } = await this.#lines.next();
    if (done) throw new HeadgradError('ERR_HEADGRAD_PEER', `bench peers: the PyTorch process ended (request ${req.op})`);
    const out = JSON.parse(value) as Record<string, any>;
    if (out.error) throw new HeadgradError('ERR_HEADGRAD_PEER', `bench peers: PyTorch ${req.op}: ${out.error}`);
    return out;
  }
  close(): void {
    this.#proc.stdin.end();
  }
}

interface Batch { batch: number; seqLen: number; tokens: Int32Array; targets: Int32Array; weights: Float32Array }

// Rows of random tokens; pattern work: targets (the next token) only in the second half of each
// row, weights 1/(targets in the row · batch) as activationPattern weights samples.
function makeBatches(w: Work, rng: Rng): Batch[] {
  const out: Batch[] = [];
  for (let s = 0; s < w.samples; s += w.batch) {
    const n = w.batch * w.seqLen;
    const tokens = Int32Array.from({ length: n }, () => rng.int(w.cfg.vocabSize));
    const targets = Int32Array.from({ length: n }, (_, i) => rng.int(w.cfg.vocabSize));
    const weights = new Float32Array(n);
    if (w.kind === 'pattern') {
      const prompt = Math.floor(w.seqLen / 2);
      for (let i = 0; i < n; i++) {
        if (i % w.seqLen < prompt) targets[i] = -1;
        else weights[i] = 1 / ((w.seqLen - prompt) * w.batch);
      }
    }
    out.push({ batch: w.batch, seqLen: w.seqLen, tokens, targets, weights });
  }
  return out;
}

async function headgradOnce(model: GPT, w: Work, batches: Batch[]): Promise<number> {
  const t0 = performance.now();
  for (const b of batches) {
    const o = { batch: b.batch, seqLen: b.seqLen, targets: b.targets };
    if (w.kind === 'pattern') {
      await model.forward(b.tokens, { ...o, lossWeights: b.weights, scoresOnly: true });
      await model.backward({ scoresOnly: true });
    } else {
      await model.forward(b.tokens, o);
      await model.backward();
      await model.step({ lr: 1e-4, weightDecay: 0.1, gradClip: 1 });
    }
  }
  return (performance.now() - t0) / 1000;
}

async function torchOnce(torch: Torch, w: Work, batches: Batch[], precision: string): Promise<number> {
  let seconds = 0;
  for (const b of batches) {
    const r = await torch.call({
      op: w.kind, precision, batch: b.batch, seqLen: b.seqLen,
      tokens: Array.from(b.tokens), targets: Array.from(b.targets), weights: Array.from(b.weights),
    });
    seconds += r.seconds as number;
  }
  return seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function peersColumns(): string[] {
  return ['work', 'model', 'batch', 'unit', 'headgrad f32', 'headgrad bf16', 'torch f32', 'torch bf16', 'ratio f32/f32', 'ratio best/best'];
}

export interface PeersOptions {
  /** Interleaved repetitions per side (the median is reported). */
  reps: number;
  /** Only the L4 H8 C256 rows and 64² ceilings: a check that everything runs, not a measurement. */
  small?: boolean;
}

/** Runs every work item through headgrad and, where a python imports torch, PyTorch. */
export async function peers(opts: PeersOptions): Promise<BenchSection> {
  const REPS = opts.reps;
  if (!Number.isSafeInteger(REPS) || REPS < 1) throw new HeadgradRangeError(`peers: reps must be a positive integer, got ${REPS}`);
  const info = backendInfo();
  const threads = info.cpu.threads;
  const title = `Peers: headgrad vs PyTorch, same work, ${threads} threads, interleaved (median of ${REPS})`;
  const hgBf16 = info.cpu.bf16.available;
  const columns = peersColumns();
  const found = findTorch();
  // Without PyTorch headgrad's side still runs; the PyTorch columns say why they are empty.
  if ('reason' in found) console.error(`bench peers: PyTorch columns empty: ${found.reason}`);
  const torch = 'python' in found ? new Torch(found.python) : undefined;
  const torchTime = async (w: Work, batches: Batch[], precision: string) => (torch ? torchOnce(torch, w, batches, precision) : NaN);
  const rows: (string | number)[][] = [];
  const data: Json[] = [];
  try {
    const t = torch ? await torch.call({ op: 'init', threads }) : { torch: null };
    const rng = new Rng(1);
    for (const w of opts.small ? works.filter((x) => x.cfg === l4).map((x) => ({ ...x, samples: x.batch })) : works) {
      const batches = makeBatches(w, rng);
      using model = await GPT.create({ ...w.cfg, seed: 1, device: 'cpu' });
      using model16 = hgBf16 ? await GPT.create({ ...w.cfg, seed: 1, device: 'cpu', precision: 'bf16' }) : undefined;
      await torch?.call({ op: 'model', cfg: w.cfg });
      // warm-up all (activation planning, optimizer state, page faults)
      await headgradOnce(model, w, batches.slice(0, 1));
      if (model16) await headgradOnce(model16, w, batches.slice(0, 1));
      await torchTime(w, batches.slice(0, 1), 'f32');
      await torchTime(w, batches.slice(0, 1), 'bf16');
      const s = { hg: [] as number[], hg16: [] as number[], tf32: [] as number[], tbf16: [] as number[] };
      for (let r = 0; r < REPS; r++) {
        s.hg.push(await headgradOnce(model, w, batches));
        s.tf32.push(await torchTime(w, batches, 'f32'));
        if (model16) s.hg16.push(await headgradOnce(model16, w, batches));
        s.tbf16.push(await torchTime(w, batches, 'bf16'));
      }
      const hg = median(s.hg), tf32 = median(s.tf32), tbf16 = median(s.tbf16);
      const hg16 = model16 ? median(s.hg16) : Infinity;
      const unit = w.kind === 'pattern' ? 'samples/s' : 'ms/step';
      const show = (sec: number) => (!Number.isFinite(sec) ? '-' : w.kind === 'pattern' ? (w.samples / sec).toFixed(2) : (sec * 1000).toFixed(0));
      const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '-');
      rows.push([w.kind === 'pattern' ? 'pattern extraction' : 'training step', w.name, `${w.samples}x${w.seqLen}`, unit,
        show(hg), show(hg16), show(tf32), show(tbf16), ratio(tf32 / hg), ratio(Math.min(tf32, tbf16) / Math.min(hg, hg16))]);
      data.push({ work: w.kind, model: w.name, cfg: { ...w.cfg }, samples: w.samples, batch: w.batch, seqLen: w.seqLen,
        seconds: { headgradF32: s.hg, headgradBf16: s.hg16, torchF32: torch ? s.tf32 : null, torchBf16: torch ? s.tbf16 : null } });
    }
    // Ceilings, n³ (the engine's gemm; PyTorch's matmul).
    const n = opts.small ? 64 : 1024;
    const hgGemm = native.gemmRateSync({ m: n, n, k: n });
    const hgGemm16 = hgBf16 ? native.gemmRateSync({ m: n, n, k: n, precision: 'bf16' }).gflops : NaN;
    const tf = torch ? ((await torch.call({ op: 'matmul', n, precision: 'f32' })).gflops as number) : NaN;
    const tb = torch ? ((await torch.call({ op: 'matmul', n, precision: 'bf16' })).gflops as number) : NaN;
    const gf = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
    rows.push([`ceiling: matmul ${n}³`, '', '', 'GFLOP/s', `${gf(hgGemm.gflops)} (${hgGemm.impl})`,
      hgBf16 ? `${gf(hgGemm16)} (oneDNN)` : '-', gf(tf), gf(tb), '', '']);
    data.push({ ceilings: { headgradGemmF32: hgGemm.gflops, headgradGemm: hgGemm.impl, headgradGemmBf16: hgBf16 ? hgGemm16 : null, torchF32: torch ? tf : null, torchBf16: torch ? tb : null },
      torch: (t.torch as string | null) ?? null, torchMissing: 'reason' in found ? found.reason : null });
  } finally {
    torch?.close();
  }
  return { title, columns, rows, data };
}
