// The one place that loads the native addon. Everything else in lib/ imports `native` from
// here and sees the typed `Binding` interface, never the raw module. The addon is loaded on the
// first native call, not at import: `import 'headgrad'`, decompose, the statistics and the
// report code work on a machine where it is missing or broken.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GPTConfig } from './checkpoint/layout.js';
import { fileURLToPath } from 'node:url';
import { fromNative, HeadgradError } from './errors.js';

export interface CudaDevice { index: number; name: string; memoryBytes: number; computeCapability: string }
export interface BackendInfo {
  version: string;
  cpu: {
    simd: string; threads: number; blas: string | null;
    /** the f32 gemm that runs ('openblas' | 'blocked'), and why (a fallback OpenBLAS core is not used) */
    gemm: string; gemmReason: string;
    /** openblas_get_corename(), null without OpenBLAS */
    blasCore: string | null;
    /** precision 'bf16' on the CPU: the linear layers' gemms through the own AVX512-BF16 kernel
     *  ('own') or oneDNN ('onednn', used where the CPU has AMX), with why; or why f32 runs instead. */
    bf16: { available: boolean; impl: 'own' | 'onednn' | 'none'; isa: string | null; reason: string;
      /** the kernel behind a bf16 model's linear layers (weights held as bf16), and why it was chosen */
      linear: 'own' | 'onednn' | 'portable'; linearReason: string };
  };
  /** device: the index of the GPU every CUDA call runs on (HEADGRAD_CUDA_DEVICE, else the first usable one). */
  cuda: { compiled: boolean; available: boolean; devices: CudaDevice[]; device?: number; reason?: string;
    /** Device memory the engine's ops keep between calls (freed for idle threads when a model is disposed). */
    scratchBytes: number;
    /** Head sizes with a bf16 tensor-core attention kernel; precision 'bf16' runs f32 attention for the others. */
    bf16AttentionHeadDims: number[] };
}

/** Shape and options exactly as native/addon/attention_binding.cpp reads them. */
export interface NativeAttentionShape { batch: number; heads: number; seqLen: number; headDim: number }
export interface NativeAttentionOptions {
  causal: boolean;
  scale: number;
  device: 'cpu' | 'cuda';
  precision: 'f32' | 'bf16';
  captureScore?: boolean;
}
/** precision: what the kernels ran at ('f32' where bf16 was asked for a head size without a bf16 kernel). */
export interface NativeForwardResult { out: Float32Array; lse: Float32Array; precision: 'f32' | 'bf16' }
export interface NativeBackwardResult { dq: Float32Array; dk: Float32Array; dv: Float32Array; headScore: Float32Array; precision: 'f32' | 'bf16' }

/**
 * AdamW's state. An f32 model: m, v over every parameter (canonical layout). A bf16 model: m, v
 * and `master` (the f32 master values) over its trainable set only, in the engine's block order.
 */
export interface OptimizerState { m: Float32Array; v: Float32Array; step: number; master?: Float32Array }

/** What later steps train (GPT.setTrainable); no field: everything. */
export interface TrainableSet { trainableHeads?: Uint8Array; trainMlp?: boolean; trainLayerNorm?: boolean; trainEmbeddings?: boolean }

/** The engine's memory by kind, in bytes (GPT.residentBytes). */
export interface ResidentBytes {
  weightsF32: number; weightsBf16: number; vectorsF32: number; master: number; grads: number; moments: number;
  activations: number; decode: number; other: number;
}

export interface NativeStepOptions {
  lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; gradClip?: number;
  trainableHeads?: Uint8Array; trainMlp?: boolean; trainLayerNorm?: boolean; trainEmbeddings?: boolean;
}

/** native/addon/gpt_binding.cpp: one engine; lib/model.ts is the only user. */
export interface NativeGPTModel {
  forward(tokens: Int32Array, o: { batch: number; seqLen: number; targets?: Int32Array; lossWeights?: Float32Array; returnLogits?: boolean; scoresOnly?: boolean }):
    Promise<{ loss: number; logits?: Float32Array }>;
  backward(o?: { scoresOnly?: boolean }): Promise<{ headScores: Float32Array }>;
  step(o: NativeStepOptions): Promise<void>;
  generate(prompt: Int32Array, o: { maxNewTokens: number; stopToken?: number }): Promise<Int32Array>;
  setHeadGates(g: Float32Array): void;
  exportParameters(): Float32Array;
  importParameters(p: Float32Array): void;
  exportParameterRange(offset: number, length: number): Float32Array;
  importParameterRange(offset: number, data: Float32Array): void;
  /** bits: bf16 values as a BF16 file stores them (widened exactly in an f32 model, copied in a bf16 one). */
  importParameterRangeBf16(offset: number, bits: Uint16Array): void;
  /** BF16/F32 tensors of one checkpoint file read straight into the parameters; segments: [fileOffset, bytes, paramOffset, dtype 0 F32 | 1 BF16] each, in file order. */
  importFile(path: string, segments: Float64Array): Promise<{ segment?: number; element?: number; value?: number; ended?: boolean }>;
  setTrainable(t: TrainableSet): void;
  residentBytes(): ResidentBytes;
  exportGradients(): Float32Array;
  exportOptimizerState(): OptimizerState;
  importOptimizerState(s: OptimizerState): void;
  profile(reset?: boolean): { ms: Record<string, number>; gemmFlops: number } | null;
  dispose(): void;
}

/** The raw addon surface. Binding files in native/addon/ add to it; keep this in step. */
export interface Binding {
  backendInfo(): BackendInfo;
  attentionForward(q: Float32Array, k: Float32Array, v: Float32Array, shape: NativeAttentionShape,
    opts: NativeAttentionOptions): Promise<NativeForwardResult>;
  attentionForwardSync(q: Float32Array, k: Float32Array, v: Float32Array, shape: NativeAttentionShape,
    opts: NativeAttentionOptions): NativeForwardResult;
  attentionBackward(dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array,
    lse: Float32Array, shape: NativeAttentionShape, opts: NativeAttentionOptions): Promise<NativeBackwardResult>;
  attentionBackwardSync(dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array,
    lse: Float32Array, shape: NativeAttentionShape, opts: NativeAttentionOptions): NativeBackwardResult;
  GPTModel: {
    /** randomInit false: parameters start at zero (the loaders import every one next). */
    create(cfg: GPTConfig & { seed: number; device: 'cpu' | 'cuda'; precision: 'f32' | 'bf16'; randomInit?: boolean }): Promise<NativeGPTModel>;
    /** Bytes of the activation arena for rows = batch·seqLen, full or scores-only (the engine's own plan_activations). */
    activationBytes(cfg: GPTConfig, rows: number, scoresOnly: boolean): number;
  };
  /** The rate of the f32 gemm the engine runs, C[m,n] = A[m,k]·B[k,n] (benchmarks only). */
  gemmRateSync(o: { m: number; n: number; k: number; precision?: 'f32' | 'bf16' | 'bf16w' }): { gflops: number; impl: string };
}

const require = createRequire(import.meta.url);
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// OpenBLAS's idle worker threads spin for 2^28 cycles after each gemm by default, stealing the
// cores our own kernel pool (attention, LayerNorm, ...) needs right after it. 2^22 cycles is the
// compromise measured on 2 cores: the L4 H8 C256 training step at 8×128 went from ~160 to ~131 ms
// (HEADGRAD_BENCH=train npm run bench), while the shipped model's many tiny gemms, which lose
// when threads sleep too soon (the minimum timeout made `npm run demo` 114 s instead of ~88 s),
// keep their speed. OpenBLAS reads this when the addon below loads it; a value the user set wins.
process.env.OPENBLAS_THREAD_TIMEOUT ??= '22';
// HEADGRAD_THREADS sizes every thread pool: ours, OpenBLAS's and OpenMP's (oneDNN). The libraries
// read these when they load, so they start no threads beyond it (the addon also sets them again).
if (process.env.HEADGRAD_THREADS) {
  process.env.OPENBLAS_NUM_THREADS ??= process.env.HEADGRAD_THREADS;
  process.env.OMP_NUM_THREADS ??= process.env.HEADGRAD_THREADS;
}

function load(): Binding {
  const tried: string[] = [];
  // An explicit HEADGRAD_ADDON is used or reported, never silently replaced by another build.
  const override = process.env.HEADGRAD_ADDON;
  if (override) {
    if (existsSync(override)) return require(path.resolve(override)) as Binding;
    throw new HeadgradError('ERR_HEADGRAD_PLATFORM', `headgrad: HEADGRAD_ADDON=${override}: no such file (unset it to use the built addon)`);
  }
  try {
    const bindings = require('bindings') as (o: { bindings: string; module_root: string }) => Binding;
    return bindings({ bindings: 'headgrad.node', module_root: packageRoot });
  } catch (e) {
    const msg = (e as Error).message;
    const fromBindings = msg.split('\n').filter((l) => l.includes('→') || l.includes('->'));
    tried.push(...fromBindings.map((l) => l.replace(/^\s*(→|->)\s*/, '')));
    const detail = fromBindings.length ? '' : `\n  cause: ${msg.split('\n')[0]}`;
    throw new HeadgradError('ERR_HEADGRAD_PLATFORM', 
      `headgrad: could not load the native addon (headgrad.node).\n  tried:\n    ${tried.join('\n    ')}${detail}\n` +
        `  fix: run \`npm run build:native\` in ${packageRoot} (needs cmake or node-gyp, and a C++17 compiler).`,
    );
  }
}

let loaded: Binding | undefined;

/** The addon, loaded on first use; a failed load throws at each use with the same message. */
export function binding(): Binding {
  loaded ??= load();
  return loaded;
}

/**
 * `native.x` is `binding().x`: the addon loads on the first property read, not at import. Every
 * function, static and method reached through it throws (or rejects with) headgrad's errors,
 * with codes (errors.ts fromNative); engine objects it returns are wrapped the same way.
 */
export const native: Binding = new Proxy({} as Binding, {
  get: (_target, key) => coded(Reflect.get(binding(), key)),
  has: (_target, key) => Reflect.has(binding(), key),
});

const wrapped = new WeakMap<object, unknown>();

function coded<T>(value: T): T {
  // Only functions and class instances of the addon: results (typed arrays, plain objects) pass as they are.
  if (typeof value !== 'function' && !(typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) &&
    Object.getPrototypeOf(value) !== Object.prototype && !Array.isArray(value) && !(value instanceof Promise))) return value;
  const target = value as unknown as object;
  let proxy = wrapped.get(target);
  if (proxy === undefined) {
    // The proxy stands on an empty shell, not on the target: the addon's statics are
    // non-configurable, and a proxy on the target itself would have to return them unwrapped.
    const shell = typeof target === 'function' ? function shell() {} : {};
    proxy = new Proxy(shell as object, {
      // Methods run on the real object (the addon unwraps `this`), never on the proxy.
      get: (_shell, key) => {
        const v = Reflect.get(target, key);
        return typeof v === 'function' && typeof target !== 'function' ? coded(v.bind(target)) : coded(v);
      },
      has: (_shell, key) => Reflect.has(target, key),
      apply: (_shell, self, args) => settle(() => Reflect.apply(target as (...a: unknown[]) => unknown, self, args)),
      construct: (_shell, args) => settle(() => Reflect.construct(target as new (...a: unknown[]) => object, args)) as object,
    });
    wrapped.set(target, proxy);
  }
  return proxy as T;
}

function settle(call: () => unknown): unknown {
  let r: unknown;
  try {
    r = call();
  } catch (e) {
    throw fromNative(e);
  }
  if (r instanceof Promise) return r.then(coded, (e) => Promise.reject(fromNative(e)));
  return coded(r);
}
