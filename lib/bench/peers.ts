// Peers (run by `headgrad bench` and by HEADGRAD_BENCH=peers npm run bench): the same work through
// headgrad and through PyTorch (scripts/bench_peers_torch.py, run
// by /usr/bin/python3 or python3, whichever imports torch), same shapes, same thread count,
// repetitions interleaved so that a noisy machine slows both sides alike. Ratios > 1 mean
// headgrad is faster. Runs only when HEADGRAD_BENCH names it (it takes minutes):
//   HEADGRAD_BENCH=peers npm run bench          (HEADGRAD_PEERS_REPS: repetitions, default 3)
// Work:
// - pattern extraction: forward + backward for the per-head gate scores ∂L/∂ξ, weights frozen,
//   loss weighted per sample over the response half of each row (the first half is the prompt);
//   headgrad runs its scores-only pass, PyTorch the gate method (a gate per head and sample) with
//   the LM head likewise only at positions with a target; f32 and bf16 autocast.
// - training step: forward (mean CE), backward, clipping at 1, AdamW; f32 and bf16 autocast.
// - pattern extraction at the Llama-3.2-1B shape (built in memory, random weights): headgrad bf16
//   against PyTorch's Llama twin with bf16 weights (gate method as above); tokens/s, and the FLOP
//   rate that implies as a fraction of PyTorch's bf16 and f32 matmul at the model's linear shapes.
// - GPT-2 small at T = 1024, batch 2.
// - the authors' method (PyTorch, retain_grad() on every attention matrix, each sample padded to
//   1024, full logits) on GSM8K-like samples of 150-250 tokens, against headgrad's pattern
//   extraction of the same samples (batches padded to their longest sample).
// headgrad f32 and (where the CPU has bf16 instructions) bf16; PyTorch f32 and bf16 autocast.
// Ceilings beside them: the gemms the engine runs (f32; bf16 rounding both operands; bf16w on
// resident bf16 weights), PyTorch's matmul (bf16 as x @ W.t() with bf16 weights), at 1024³ and
// at the 1B model's linear shapes.
// HEADGRAD_PEERS_ROWS=regex keeps the rows whose work/model name matches (e.g. 'Llama|ceiling');
// HEADGRAD_PEERS_TINY=1 shrinks every model and shape to check that each row runs (seconds).
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

const here = path.dirname(fileURLToPath(import.meta.url));

const TINY = process.env.HEADGRAD_PEERS_TINY === '1';
const ROWS = new RegExp(process.env.HEADGRAD_PEERS_ROWS ?? '.');

interface Cfg {
  vocabSize: number; maxSeqLen: number; layers: number; heads: number; dim: number;
  kvHeads?: number; ffnDim?: number; norm?: 'rmsnorm'; positions?: 'rope'; ropeTheta?: number; mlp?: 'swiglu';
  qkvBias?: boolean; linearBias?: boolean;
}
const gpt2small: Cfg = TINY ? { vocabSize: 500, maxSeqLen: 1024, layers: 2, heads: 2, dim: 64 }
  : { vocabSize: 50257, maxSeqLen: 1024, layers: 12, heads: 12, dim: 768 };
const l4: Cfg = { vocabSize: 256, maxSeqLen: 128, layers: 4, heads: 8, dim: 256 };
// Llama-3.2-1B's shape (scripts/make-random-llama.ts has the same numbers); RoPE scaling changes
// no cost, so it is left out.
const llama1b: Cfg = {
  vocabSize: TINY ? 1000 : 128256, maxSeqLen: 2048, layers: TINY ? 2 : 16, heads: TINY ? 4 : 32, kvHeads: TINY ? 2 : 8,
  dim: TINY ? 128 : 2048, ffnDim: TINY ? 256 : 8192, norm: 'rmsnorm', positions: 'rope', ropeTheta: 500000, mlp: 'swiglu',
  qkvBias: false, linearBias: false,
};
interface Work {
  kind: 'pattern' | 'train' | 'authors'; name: string; cfg: Cfg; samples: number; batch: number; seqLen: number;
  bf16Only?: boolean;  // skip the f32 columns (the 1B row: bf16 weights on both sides)
  unit?: 'tokens/s';
}
const works: Work[] = [
  { kind: 'pattern', name: 'GPT-2 small', cfg: gpt2small, samples: 16, batch: 16, seqLen: 128 },
  { kind: 'pattern', name: 'L4 H8 C256', cfg: l4, samples: 64, batch: 16, seqLen: 128 },
  { kind: 'train', name: 'L4 H8 C256', cfg: l4, samples: 8, batch: 8, seqLen: 128 },
  { kind: 'train', name: 'GPT-2 small', cfg: gpt2small, samples: 4, batch: 4, seqLen: 64 },
  { kind: 'pattern', name: 'Llama-3.2-1B shape', cfg: llama1b, samples: 8, batch: 4, seqLen: 128, bf16Only: true, unit: 'tokens/s' },
  { kind: 'pattern', name: 'GPT-2 small T=1024', cfg: gpt2small, samples: 2, batch: 2, seqLen: 1024 },
  { kind: 'authors', name: 'GPT-2 small, 150-250 tokens', cfg: gpt2small, samples: 4, batch: 4, seqLen: 250 },
].map((w) => (TINY ? { ...w, samples: Math.min(w.samples, 2 * Math.min(w.batch, 2)), batch: Math.min(w.batch, 2), seqLen: Math.min(w.seqLen, 64) } : w))
  .filter((w) => ROWS.test(`${w.kind} ${w.name}`)) as Work[];

/** The python that imports torch, or why there is none. */
function findTorch(): { python: string } | { reason: string } {
  // HEADGRAD_PEERS_PYTHON names the one python to use (a virtual environment's, say)
  const candidates = process.env.HEADGRAD_PEERS_PYTHON ? [process.env.HEADGRAD_PEERS_PYTHON] : ['/usr/bin/python3', 'python3'];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return { python };
  }
  return { reason: `no python that can \`import torch\` (tried ${candidates.join(', ')}; Debian: apt-get install python3-torch)` };
}

/** PyTorch's side: one python process running scripts/bench_peers_torch.py, a JSON line per request. */
export class Torch {
  #proc: ChildProcessWithoutNullStreams;
  #lines: AsyncIterator<string>;
  constructor(python: string) {
    this.#proc = spawn(python, [path.join(here, '..', '..', 'scripts', 'bench_peers_torch.py')], { stdio: 'pipe' });
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

interface Batch {
  batch: number; seqLen: number; tokens: Int32Array; targets: Int32Array; weights: Float32Array;
  samples?: number[][]; prompts?: number[];  // the authors' rows: each sample unpadded, its prompt length
}

// GSM8K-like samples for the authors' rows: 150-250 tokens (a question of 40% of them, then the
// answer); headgrad gets them in batches padded to the longest, targets only on the answers.
function authorsBatches(w: Work, rng: Rng): Batch[] {
  const out: Batch[] = [];
  const lo = TINY ? 20 : 150, hi = TINY ? 40 : 250;
  for (let s = 0; s < w.samples; s += w.batch) {
    const samples = Array.from({ length: w.batch }, () => Array.from({ length: lo + rng.int(hi - lo + 1) }, () => rng.int(w.cfg.vocabSize)));
    const prompts = samples.map((x) => Math.floor(0.4 * x.length));
    const T = Math.max(...samples.map((x) => x.length));
    const n = w.batch * T;
    const tokens = new Int32Array(n), targets = new Int32Array(n).fill(-1), weights = new Float32Array(n);
    samples.forEach((x, b) => {
      tokens.set(x, b * T);
      for (let t = prompts[b]! - 1; t < x.length - 1; t++) {
        targets[b * T + t] = x[t + 1]!;
        weights[b * T + t] = 1 / ((x.length - prompts[b]!) * w.batch);
      }
    });
    out.push({ batch: w.batch, seqLen: T, tokens, targets, weights, samples, prompts });
  }
  return out;
}

// Rows of random tokens; pattern work: targets (the next token) only in the second half of each
// row, weights 1/(targets in the row · batch) as activationPattern weights samples.
function makeBatches(w: Work, rng: Rng): Batch[] {
  if (w.kind === 'authors') return authorsBatches(w, rng);
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
    if (w.kind !== 'train') {
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
    if (w.kind === 'authors') {
      seconds += (await torch.call({ op: 'authors', precision, samples: b.samples, prompts: b.prompts })).seconds as number;
      continue;
    }
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
}

/** Every row through headgrad and PyTorch (HEADGRAD_PEERS_TINY=1 shrinks every shape: a check, not a measurement). */
export async function peers(opts: PeersOptions): Promise<BenchSection> {
  const REPS = opts.reps;
  if (!Number.isSafeInteger(REPS) || REPS < 1) throw new HeadgradRangeError(`peers: reps must be a positive integer, got ${REPS}`);
  const info = backendInfo();
  const threads = info.cpu.threads;
  const title = `Peers: headgrad vs PyTorch, same work, ${threads} threads, interleaved (median of ${REPS})`;
  const hgBf16 = info.cpu.bf16.available;
  const columns = peersColumns();
  // Without PyTorch the headgrad columns still run (a user with npm only sees our rates and our
  // GEMM ceilings); the PyTorch columns read '-', and the reason is printed once.
  const found = findTorch();
  if ('reason' in found) console.log(`bench peers: the PyTorch columns are skipped: ${found.reason}`);
  const torch = 'reason' in found ? undefined : new Torch(found.python);
  const rows: (string | number)[][] = [];
  const data: Json[] = [];
  let llamaRate: { tokens: number; seconds: number; torchSeconds: number; batches: Batch[] } | undefined;
  const linearRates: { torchF32: number; torchBf16: number; flops: number }[] = [];
  try {
    const t = torch ? await torch.call({ op: 'init', threads }) : { torch: null };
    const rng = new Rng(1);
    for (const w of works) {
      const batches = makeBatches(w, rng);
      using model = w.bf16Only ? undefined : await GPT.create({ ...w.cfg, seed: 1, device: 'cpu' });
      using model16 = hgBf16 ? await GPT.create({ ...w.cfg, seed: 1, device: 'cpu', precision: 'bf16' }) : undefined;
      await torch?.call({ op: 'model', cfg: w.cfg, weights: w.bf16Only ? 'bf16' : 'f32' });
      // warm-up all (activation planning, optimizer state, page faults)
      if (model) await headgradOnce(model, w, batches.slice(0, 1));
      if (model16) await headgradOnce(model16, w, batches.slice(0, 1));
      if (torch && !w.bf16Only) await torchOnce(torch, w, batches.slice(0, 1), 'f32');
      if (torch) await torchOnce(torch, w, batches.slice(0, 1), 'bf16');
      const s = { hg: [] as number[], hg16: [] as number[], tf32: [] as number[], tbf16: [] as number[] };
      for (let r = 0; r < REPS; r++) {
        if (model) s.hg.push(await headgradOnce(model, w, batches));
        if (torch && !w.bf16Only) s.tf32.push(await torchOnce(torch, w, batches, 'f32'));
        if (model16) s.hg16.push(await headgradOnce(model16, w, batches));
        if (torch) s.tbf16.push(await torchOnce(torch, w, batches, 'bf16'));
      }
      const pick = (xs: number[]) => (xs.length ? median(xs) : Infinity);
      const hg = pick(s.hg), tf32 = pick(s.tf32), tbf16 = pick(s.tbf16), hg16 = pick(s.hg16);
      const tokens = batches.reduce((n, b) => n + b.batch * b.seqLen, 0);
      const unit = w.kind === 'train' ? 'ms/step' : w.unit ?? 'samples/s';
      const show = (sec: number) => (!Number.isFinite(sec) ? '-' : w.kind === 'train' ? (sec * 1000).toFixed(0)
        : ((unit === 'tokens/s' ? tokens : w.samples) / sec).toFixed(2));
      const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}x` : '-');
      const work = { pattern: 'pattern extraction', train: 'training step', authors: "vs the authors' method" }[w.kind];
      rows.push([work, w.name, w.kind === 'authors' ? `${w.samples} samples` : `${w.samples}x${w.seqLen}`, unit,
        show(hg), show(hg16), show(tf32), show(tbf16), ratio(tf32, hg), ratio(Math.min(tf32, tbf16), Math.min(hg, hg16))]);
      data.push({ work: w.kind, model: w.name, cfg: { ...w.cfg }, samples: w.samples, batch: w.batch, seqLen: w.seqLen, tokens,
        seconds: { headgradF32: s.hg, headgradBf16: s.hg16, torchF32: s.tf32, torchBf16: s.tbf16 } });
      if (w.cfg === llama1b && Number.isFinite(hg16)) llamaRate = { tokens, seconds: hg16, torchSeconds: tbf16, batches };
    }
    // Ceilings: the engine's gemms and PyTorch's matmul, at 1024³ (A·B) and at the 1B model's
    // linear shapes (x[m,k]·Wᵀ, W [n,k]; m = 4 x 128 tokens).
    const M1b = TINY ? 64 : 512, C1b = llama1b.dim, F1b = llama1b.ffnDim!, KV1b = (llama1b.kvHeads! * llama1b.dim) / llama1b.heads;
    const shapes: { name: string; m: number; n: number; k: number; weight: boolean }[] = [
      { name: 'matmul 1024³', m: TINY ? 128 : 1024, n: TINY ? 128 : 1024, k: TINY ? 128 : 1024, weight: false },
      { name: '1B q/o proj', m: M1b, n: C1b, k: C1b, weight: true },
      { name: '1B k/v proj', m: M1b, n: KV1b, k: C1b, weight: true },
      { name: '1B gate/up', m: M1b, n: F1b, k: C1b, weight: true },
      { name: '1B down', m: M1b, n: C1b, k: F1b, weight: true },
    ].filter((c) => ROWS.test(`ceiling ${c.name}`));
    const ceilings: Json[] = [];
    for (const c of shapes) {
      const f32 = native.gemmRateSync({ m: c.m, n: c.n, k: c.k });
      const b16 = hgBf16 ? native.gemmRateSync({ m: c.m, n: c.n, k: c.k, precision: 'bf16' }) : undefined;
      let b16w: { gflops: number; impl: string } | undefined;
      try {
        b16w = native.gemmRateSync({ m: c.m, n: c.n, k: c.k, precision: 'bf16w' });
      } catch { /* the own kernel cannot run on this CPU */ }
      const q = { op: 'matmul', n: c.n, m: c.m, k: c.k, weight: c.weight };
      const tf = torch ? (await torch.call({ ...q, precision: 'f32' })).gflops as number : NaN;
      const tb = torch ? (await torch.call({ ...q, precision: 'bf16' })).gflops as number : NaN;
      const fixed = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
      const best16 = Math.max(b16?.gflops ?? 0, b16w?.gflops ?? 0);
      const hg16Cell = [b16 ? `${b16.gflops.toFixed(0)} (${b16.impl})` : '', b16w ? `${b16w.gflops.toFixed(0)} (${b16w.impl})` : '']
        .filter(Boolean).join(' / ') || '-';
      rows.push([`ceiling: ${c.name}`, '', `${c.m}x${c.n}x${c.k}`, 'GFLOP/s', `${f32.gflops.toFixed(0)} (${f32.impl})`, hg16Cell,
        fixed(tf), fixed(tb), torch ? `${(f32.gflops / tf).toFixed(2)}x` : '-', torch && best16 > 0 ? `${(best16 / tb).toFixed(2)}x` : '-']);
      ceilings.push({ ...c, headgradF32: f32.gflops, headgradF32Impl: f32.impl, headgradBf16: b16?.gflops ?? null,
        headgradBf16Impl: b16?.impl ?? null, headgradBf16w: b16w?.gflops ?? null, torchF32: torch ? tf : null, torchBf16: torch ? tb : null });
      if (torch && c.weight) linearRates.push({ torchF32: tf, torchBf16: tb, flops: 2 * c.m * c.n * c.k });
    }
    // The 1B row as a FLOP rate: forward + input-gradient backward of every linear layer (4 FLOP
    // per weight and token), the LM head at target rows only, attention (causal: 7·T/2·2·C per
    // token and layer: QKᵀ and PV forward, their recompute and three gradient products).
    if (llamaRate && linearRates.length) {
      const c = llama1b, hs = c.dim / c.heads, L = c.layers;
      const perLayer = c.dim * c.dim * 2 + 2 * c.dim * c.kvHeads! * hs + 3 * c.dim * c.ffnDim!;
      const targets = llamaRate.batches.reduce((n, b) => n + b.targets.filter((t) => t >= 0).length, 0);
      const T = llamaRate.batches[0]!.seqLen;
      const flops = llamaRate.tokens * (4 * perLayer * L + 7 * T * c.dim * L) + targets * 4 * c.vocabSize * c.dim;
      // The machine's rates at these shapes: FLOP-weighted over the linear shapes (time = Σ flops/rate).
      const machine = (key: 'torchF32' | 'torchBf16') => linearRates.reduce((a, r) => a + r.flops, 0) /
        linearRates.reduce((a, r) => a + r.flops / r[key], 0);
      const ours = flops / llamaRate.seconds / 1e9, theirs = flops / llamaRate.torchSeconds / 1e9;
      const g = (x: number) => x.toPrecision(3);
      rows.push(['1B pattern extraction as a FLOP rate', 'Llama-3.2-1B shape', `${g(flops / 1e9)} GFLOP`, 'GFLOP/s',
        '', `${g(ours)} = ${(100 * ours / machine('torchBf16')).toFixed(0)}% bf16, ${(100 * ours / machine('torchF32')).toFixed(0)}% f32`,
        '', `${g(theirs)} = ${(100 * theirs / machine('torchBf16')).toFixed(0)}% bf16`, '', '']);
      data.push({ llamaFlopRate: { flops, headgradGflops: ours, torchGflops: theirs, machineBf16: machine('torchBf16'), machineF32: machine('torchF32') } });
    }
    data.push({ ceilings, torch: (t.torch as string | null) ?? null });
  } finally {
    torch?.close();
  }
  return { title, columns, rows, data };
}
