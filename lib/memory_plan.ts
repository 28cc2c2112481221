// Memory planning: what a model will need (weights, training state, activations for a batch)
// against what the machine has, checked before anything is allocated, so that a model that
// cannot fit is refused with numbers and a way out instead of being OOM-killed half-way.
//
// What each part costs (host memory, CPU device; a CUDA model's tensors live on the GPU):
//   weights      f32: 4 B per parameter. bf16 (docs/memory.md): one 2-byte buffer in the canonical
//                layout (the 2-D matrices wte, wpe, qkvw, attprojw, fcw, fcprojw, lmhead live
//                there) plus the vectors (norm weights, biases) at 4 B. Plus RoPE's tables.
//   training     f32: gradient + AdamW m + v over every parameter (12 B each; the f32 engine
//                keeps whole-model buffers). bf16: f32 master + gradient + m + v (16 B) only for
//                the parameters a step updates: everything in 'full'; the chosen heads' Q/K/V
//                rows and output-projection columns in 'heads', plus the MLPs in 'heads+mlp'.
//   activations  the engine's own activation arena for batch·seqLen rows (GPT.activationBytes
//                in the addon runs the same layout code as the engine's plan_activations). 'frozen'
//                is the scores-only pass of pattern extraction (no layer's linear-layer inputs
//                kept, logits a chunk of rows at a time); a forward that a full backward may follow
//                (training, and evaluate's) plans the full arena.
//   runtime      Node, the addon and its kernel scratch: a fixed allowance (RUNTIME_BYTES).
// Available: the smallest of MemAvailable (/proc/meminfo), the cgroup's room (v2 memory.max −
// memory.current up the hierarchy; v1 memory.limit_in_bytes − memory.usage_in_bytes) and the
// address-space limit (ulimit -v) less the address space in use.
// HEADGRAD_MEMORY_AVAILABLE=<bytes> caps it (to keep room for other work, or in tests);
// HEADGRAD_MEMORY_CHECK=off skips the refusal.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parameterLayout, parameterCount, resolveConfig, type GPTConfig } from './checkpoint/layout.js';
import { native } from './native.js';

import type { Precision } from './model.js';
import { HeadgradError, HeadgradRangeError } from './errors.js';
export type { Precision };
/** What the model will do: 'frozen' (patterns, ablation, evaluation, generation) or an SFT mode. */
export type TrainMode = 'frozen' | 'full' | 'heads' | 'heads+mlp';

export interface Workload {
  /** Rows of the largest forward: batch·seqLen. Default 0 (the weights alone). */
  batch?: number;
  seqLen?: number;
  mode?: TrainMode;
  /** Heads trained in 'heads' and 'heads+mlp' (default 8, the paper's top-k). */
  trainedHeads?: number;
}

export interface MemoryEstimate {
  precision: Precision;
  mode: TrainMode;
  weights: number;
  training: number;
  activations: number;
  runtime: number;
  total: number;
}

/** Node, V8, the addon and its libraries (~110-120 MB measured before any model: test/memory_plan.test.ts),
 *  the loader's read buffers (64 MiB at most) and kernel scratch. */
export const RUNTIME_BYTES = 192 * 2 ** 20;

const MATRICES = new Set(['wte', 'wpe', 'qkvw', 'attprojw', 'fcw', 'fcprojw', 'lmhead']);

export function estimateMemory(config: GPTConfig, precision: Precision, w: Workload = {}): MemoryEstimate {
  const mode = w.mode ?? 'frozen';
  const layout = parameterLayout(config);
  const n = parameterCount(config);
  const matrixElems = layout.filter((t) => MATRICES.has(t.name)).reduce((a, t) => a + t.size, 0);
  const r = resolveConfig(config);
  // plus RoPE's cos and sin tables, [maxSeqLen, headDim/2] each (34 MB at Llama 3.2's 131072
  // positions); longrope: the short factors' [min(maxSeqLen, originalMaxPositions), headDim/2]
  // and, past originalMaxPositions, the long factors' [maxSeqLen, headDim/2]
  const s = r.ropeScaling;
  const tableRows = s?.type !== 'longrope' ? r.maxSeqLen
    : Math.min(r.maxSeqLen, s.originalMaxPositions) + (r.maxSeqLen > s.originalMaxPositions ? r.maxSeqLen : 0);
  const tables = r.positions === 'rope' ? 2 * tableRows * (r.headDim / 2) * 4 : 0;
  // bf16: one 16-bit buffer at the canonical offsets (the vectors' slots in it unused) plus the vectors as f32
  const weights = (precision === 'f32' ? 4 * n : 2 * n + 4 * (n - matrixElems)) + tables;
  let training = 0;
  if (mode !== 'frozen') training = precision === 'f32' ? 12 * n : 16 * trainedParameters(config, mode, w.trainedHeads ?? 8);
  const rows = (w.batch ?? 0) * (w.seqLen ?? 0);
  const activations = rows > 0 ? native.GPTModel.activationBytes(config, rows, mode === 'frozen') : 0;
  const total = weights + training + activations + RUNTIME_BYTES;
  return { precision, mode, weights, training, activations, runtime: RUNTIME_BYTES, total };
}

/**
 * Parameters a step updates in `mode`, at most: k heads each own hs Q rows and hs output-
 * projection columns, and (worst case, every head in a different k/v group) hs K and hs V rows.
 */
export function trainedParameters(config: GPTConfig, mode: TrainMode, k: number): number {
  const n = parameterCount(config);
  if (mode === 'frozen') return 0;
  if (mode === 'full') return n;
  const r = resolveConfig(config);
  const hs = r.headDim;
  const heads = Math.min(k, r.layers * r.heads);
  const perHead = 4 * hs * r.dim + (r.qkvBias ? 3 * hs : 0);
  let count = heads * perHead;
  if (mode === 'heads+mlp') {
    const size = (name: string) => parameterLayout(config).find((t) => t.name === name)!.size;
    count += size('fcw') + size('fcb') + size('fcprojw') + size('fcprojb');
  }
  return Math.min(count, n);
}

export interface AvailableMemory {
  bytes: number;
  /** Which limit is the smallest: 'MemAvailable', 'cgroup', 'ulimit -v' or 'HEADGRAD_MEMORY_AVAILABLE'. */
  source: string;
}

/** The host memory this process can still allocate; null where none of the sources can be read. */
export function availableMemory(): AvailableMemory | null {
  const found: AvailableMemory[] = [];
  const meminfo = readText('/proc/meminfo');
  const m = meminfo?.match(/^MemAvailable:\s+(\d+) kB/m);
  if (m) found.push({ bytes: Number(m[1]) * 1024, source: 'MemAvailable' });
  const cg = cgroupRoom();
  if (cg !== null) found.push({ bytes: cg, source: 'cgroup' });
  const as = addressSpaceRoom();
  if (as !== null) found.push({ bytes: as, source: 'ulimit -v' });
  const forced = process.env.HEADGRAD_MEMORY_AVAILABLE;
  if (forced !== undefined && forced !== '') {
    const bytes = Number(forced);
    if (!Number.isFinite(bytes) || bytes < 0) throw new HeadgradRangeError(`HEADGRAD_MEMORY_AVAILABLE: expected a number of bytes, got ${JSON.stringify(forced)}`);
    found.push({ bytes, source: 'HEADGRAD_MEMORY_AVAILABLE' });
  }
  if (!found.length) return null;
  return found.reduce((a, b) => (b.bytes < a.bytes ? b : a));
}

// The least room left under any memory limit on the way from this process's cgroup to the root.
function cgroupRoom(): number | null {
  const self = readText('/proc/self/cgroup');
  if (!self) return null;
  let room: number | null = null;
  const take = (limit: number, used: number) => {
    room = room === null ? limit - used : Math.min(room, limit - used);
  };
  for (const line of self.trim().split('\n')) {
    const [, controllers, rel] = line.split(':');
    if (rel === undefined) continue;
    if (controllers === '') {
      // v2: memory.max is "max" where there is no limit
      for (let dir = rel; ; dir = path.posix.dirname(dir)) {
        const base = path.posix.join('/sys/fs/cgroup', dir);
        const max = readNumber(path.posix.join(base, 'memory.max')); // null for "max" (no limit)
        const cur = readNumber(path.posix.join(base, 'memory.current'));
        if (max !== null && cur !== null) take(max, cur);
        if (dir === '/' || dir === '.') break;
      }
    } else if (controllers!.split(',').includes('memory')) {
      // up to the mount's root too: in a container the path /proc names may not exist, and
      // the root of the mount is then the container's own cgroup
      for (let dir = rel; ; dir = path.posix.dirname(dir)) {
        const base = path.posix.join('/sys/fs/cgroup/memory', dir);
        const limit = readNumber(path.posix.join(base, 'memory.limit_in_bytes'));
        const used = readNumber(path.posix.join(base, 'memory.usage_in_bytes'));
        // v1 reports "no limit" as a huge number (2^63 rounded down to pages)
        if (limit !== null && limit < 2 ** 60 && used !== null) take(limit, used);
        if (dir === '/' || dir === '.') break;
      }
    }
  }
  return room === null ? null : Math.max(0, room);
}

// ulimit -v caps the address space, which V8 and the thread stacks reserve far beyond what they
// touch: the room is the limit less the address space already mapped (VmSize).
function addressSpaceRoom(): number | null {
  const limits = readText('/proc/self/limits');
  const m = limits?.match(/^Max address space\s+(\S+)/m);
  if (!m || m[1] === 'unlimited') return null;
  const size = readText('/proc/self/status')?.match(/^VmSize:\s+(\d+) kB/m);
  return Math.max(0, Number(m[1]) - (size ? Number(size[1]) * 1024 : 0));
}

// A file holding one number; null where it is missing, empty or not a number ("max").
function readNumber(file: string): number | null {
  const text = readText(file)?.trim();
  if (!text || !/^\d+$/.test(text)) return null;
  return Number(text);
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** A model that would not fit; the message carries the numbers and the way out (code ERR_HEADGRAD_MEMORY). */
export class MemoryError extends HeadgradError {
  constructor(message: string, readonly estimate: MemoryEstimate, readonly available: AvailableMemory) {
    super('ERR_HEADGRAD_MEMORY', message);
    this.name = 'MemoryError';
  }
}

export const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(1)} GB`;

/**
 * Refuses (MemoryError) when the estimate for `precision` exceeds the memory available, naming
 * both and what would fit: precision 'bf16' where only it fits, a smaller batch where the
 * activations are what tips it. Skipped with HEADGRAD_MEMORY_CHECK=off, or where no limit can be read.
 */
export function checkMemory(where: string, config: GPTConfig, precision: Precision, w: Workload = {}): void {
  if (process.env.HEADGRAD_MEMORY_CHECK === 'off') return;
  const available = availableMemory();
  if (!available) return;
  const need = estimateMemory(config, precision, w);
  if (need.total <= available.bytes) return;
  const parts = [`weights ${gb(need.weights)}`];
  if (need.training) parts.push(`${need.mode} training state ${gb(need.training)}`);
  if (need.activations) parts.push(`activations ${gb(need.activations)}`);
  let message = `${where}: needs ${gb(need.total)} as ${precision} (${parts.join(', ')}); ${gb(available.bytes)} available (${available.source})`;
  const other = precision === 'f32' ? estimateMemory(config, 'bf16', w) : null;
  if (other && other.total <= available.bytes) message += `; precision 'bf16' needs ${gb(other.total)}`;
  else if (other) message += `; precision 'bf16' would need ${gb(other.total)}, which does not fit either`;
  if (need.activations > 0 && need.total - need.activations <= available.bytes) message += '; a smaller batch or shorter sequences need fewer activations';
  message += '. HEADGRAD_MEMORY_CHECK=off skips this check.';
  throw new MemoryError(message, need, available);
}

/** The engine's activation plan: rows (batch·seqLen) and kind (a scores-only plan keeps less). */
export interface ActivationPlan {
  rows: number;
  scoresOnly: boolean;
}

/** Whether the plan `held` serves a forward that needs `need` (the engine's rule: enough rows, and a full plan serves both kinds). */
export function covers(held: ActivationPlan, need: ActivationPlan): boolean {
  return held.rows >= need.rows && (need.scoresOnly || !held.scoresOnly);
}

/**
 * Refuses (MemoryError) a forward whose new activation arena (more rows than planned, or a full
 * plan after scores-only ones) does not fit in what is available now beside the plan it
 * replaces (the model itself already allocated), naming the batch that would fit. Same
 * switches as checkMemory.
 */
export function checkActivations(where: string, config: GPTConfig, precision: Precision, batch: number, seqLen: number,
  scoresOnly: boolean, held: ActivationPlan): void {
  if (process.env.HEADGRAD_MEMORY_CHECK === 'off') return;
  const available = availableMemory();
  if (!available) return;
  const bytes = (rows: number) => (rows > 0 ? native.GPTModel.activationBytes(config, rows, scoresOnly) : 0);
  const heldBytes = held.rows > 0 ? native.GPTModel.activationBytes(config, held.rows, held.scoresOnly) : 0;
  const more = bytes(batch * seqLen) - heldBytes;
  if (more <= available.bytes) return;
  let fits = 0;
  for (let b = batch - 1; b >= 1 && !fits; b--) if (bytes(b * seqLen) - heldBytes <= available.bytes) fits = b;
  const estimate = { ...estimateMemory(config, precision), activations: bytes(batch * seqLen) };
  estimate.total += estimate.activations;
  throw new MemoryError(
    `${where}: batch ${batch} × ${seqLen} tokens needs ${gb(more)} more for activations; ${gb(available.bytes)} available (${available.source}); ` +
      (fits ? `batch ${fits} fits` : 'even batch 1 does not fit: use shorter sequences') + '. HEADGRAD_MEMORY_CHECK=off skips this check.',
    estimate, available);
}
