// The low-level fused attention API. Validates every argument before the addon sees it (the
// addon checks again with the same bounds, plus NaN/Inf in the inputs, which it scans natively),
// resolves the device, and returns the addon's outputs unchanged. The addon copies the inputs
// when the call is made: refilling q after an un-awaited attentionForward changes nothing.
//
// q, k, v, out, dout, dq, dk, dv: [batch, heads, seqLen, headDim]   lse: [batch, heads, seqLen]
// headScore: [batch, heads], Σ_t Σ_d dout·out = ∂L/∂ξ for a gate ξ on the head output.
import { resolveDevice, type Device } from './backend.js';
import { native, type NativeAttentionOptions, type NativeBackwardResult, type NativeForwardResult } from './native.js';
import {
  MAX_ATTENTION_ELEMENTS, MAX_HEAD_DIM, MAX_SCALE, checkBoolean, checkChoice, checkFloat32Length, checkPositiveInt, describe,
} from './validate.js';
import { HeadgradRangeError, HeadgradTypeError } from './errors.js';

export interface AttentionShape { batch: number; heads: number; seqLen: number; headDim: number }
export interface AttentionOptions {
  /** Mask key j > query i. Default true. */
  causal?: boolean;
  /** Multiplies q·k, in [0, 3.4e38]. Default (and 0) 1/sqrt(headDim). */
  scale?: number;
  device?: Device;
  /** 'bf16' uses tensor cores and exists on the CUDA backend only. Default 'f32'. */
  precision?: 'f32' | 'bf16';
  /** Benchmarks only: false skips the head-score sum (headScore is then all zeros). Default true. */
  captureScore?: boolean;
}

export type AttentionForwardResult = NativeForwardResult;
export type AttentionBackwardResult = NativeBackwardResult;

export { MAX_HEAD_DIM } from './validate.js';

function checkShape(fn: string, shape: unknown): AttentionShape {
  if (typeof shape !== 'object' || shape === null || Array.isArray(shape)) {
    throw new HeadgradTypeError(`${fn}: shape: expected an object {batch, heads, seqLen, headDim}, got ${describe(shape)}`);
  }
  const s = shape as Record<string, unknown>;
  const prefixed = (e: unknown) => {
    if (e instanceof Error) e.message = `${fn}: ${e.message}`;
    return e;
  };
  try {
    for (const key of ['batch', 'heads', 'seqLen', 'headDim']) checkPositiveInt(s[key], `shape.${key}`);
  } catch (e) {
    throw prefixed(e);
  }
  if ((s.headDim as number) > MAX_HEAD_DIM) {
    throw new HeadgradRangeError(`${fn}: shape.headDim: expected at most ${MAX_HEAD_DIM}, got ${s.headDim}`);
  }
  const elements = (s.batch as number) * (s.heads as number) * (s.seqLen as number) * (s.headDim as number);
  if (elements > MAX_ATTENTION_ELEMENTS) {
    throw new HeadgradRangeError(`${fn}: shape: batch·heads·seqLen·headDim must stay below ${MAX_ATTENTION_ELEMENTS} elements`);
  }
  return shape as AttentionShape;
}

function checkArray(fn: string, name: string, a: unknown, len: number, dims: string): Float32Array {
  return checkFloat32Length(a, `${fn}: ${name}`, len, dims);
}

function nativeOptions(fn: string, shape: AttentionShape, opts: AttentionOptions | undefined): NativeAttentionOptions {
  if (opts !== undefined && (typeof opts !== 'object' || opts === null || Array.isArray(opts))) {
    throw new HeadgradTypeError(`${fn}: opts: expected an object, got ${describe(opts)}`);
  }
  const o = opts ?? {};
  if (o.causal !== undefined) checkBoolean(o.causal, `${fn}: opts.causal`);
  if (o.captureScore !== undefined) checkBoolean(o.captureScore, `${fn}: opts.captureScore`);
  if (o.scale !== undefined) {
    if (typeof o.scale !== 'number' || !Number.isFinite(o.scale)) {
      throw new HeadgradTypeError(`${fn}: opts.scale: expected a finite number, got ${describe(o.scale)}`);
    }
    if (o.scale < 0 || o.scale > MAX_SCALE) {
      throw new HeadgradRangeError(`${fn}: opts.scale: expected a finite positive number, got ${describe(o.scale)}`);
    }
  }
  const precision = o.precision === undefined ? 'f32' : checkChoice(o.precision, `${fn}: opts.precision`, ['f32', 'bf16'] as const);
  const device = resolveDevice(o.device, fn);
  if (precision === 'bf16' && device !== 'cuda') {
    throw new HeadgradRangeError(`${fn}: opts.precision: 'bf16' runs on the CUDA backend only, got device 'cpu'`);
  }
  return {
    causal: o.causal ?? true,
    // 0 selects 1/sqrt(headDim), as in the addon; send the value itself so both agree bit for bit.
    scale: o.scale === undefined || o.scale === 0 ? 1 / Math.sqrt(shape.headDim) : o.scale,
    device,
    precision,
    captureScore: o.captureScore ?? true,
  };
}

type ForwardArgs = Parameters<typeof native.attentionForwardSync>;
type BackwardArgs = Parameters<typeof native.attentionBackwardSync>;

function forwardArgs(fn: string, q: unknown, k: unknown, v: unknown, shape: unknown, opts?: AttentionOptions): ForwardArgs {
  const s = checkShape(fn, shape);
  const n = s.batch * s.heads * s.seqLen * s.headDim;
  const dims = 'batch·heads·seqLen·headDim';
  return [checkArray(fn, 'q', q, n, dims), checkArray(fn, 'k', k, n, dims), checkArray(fn, 'v', v, n, dims),
    { batch: s.batch, heads: s.heads, seqLen: s.seqLen, headDim: s.headDim }, nativeOptions(fn, s, opts)];
}

function backwardArgs(fn: string, dout: unknown, q: unknown, k: unknown, v: unknown, out: unknown, lse: unknown,
  shape: unknown, opts?: AttentionOptions): BackwardArgs {
  const s = checkShape(fn, shape);
  const n = s.batch * s.heads * s.seqLen * s.headDim;
  const dims = 'batch·heads·seqLen·headDim';
  return [checkArray(fn, 'dout', dout, n, dims), checkArray(fn, 'q', q, n, dims), checkArray(fn, 'k', k, n, dims),
    checkArray(fn, 'v', v, n, dims), checkArray(fn, 'out', out, n, dims),
    checkArray(fn, 'lse', lse, s.batch * s.heads * s.seqLen, 'batch·heads·seqLen'),
    { batch: s.batch, heads: s.heads, seqLen: s.seqLen, headDim: s.headDim }, nativeOptions(fn, s, opts)];
}

/** out = softmax(scale·q kᵀ) v per (batch, head), and the row log-sum-exp the backward needs. */
export function attentionForward(q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape,
  opts?: AttentionOptions): Promise<AttentionForwardResult> {
  try {
    return native.attentionForward(...forwardArgs('attentionForward', q, k, v, shape, opts));
  } catch (e) {
    return Promise.reject(e);
  }
}

export function attentionForwardSync(q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape,
  opts?: AttentionOptions): AttentionForwardResult {
  return native.attentionForwardSync(...forwardArgs('attentionForwardSync', q, k, v, shape, opts));
}

/** Gradients of L with respect to q, k, v given dout = ∂L/∂out, and the per-head score Σ dout·out. */
export function attentionBackward(dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
  out: Float32Array, lse: Float32Array, shape: AttentionShape, opts?: AttentionOptions): Promise<AttentionBackwardResult> {
  try {
    return native.attentionBackward(...backwardArgs('attentionBackward', dout, q, k, v, out, lse, shape, opts));
  } catch (e) {
    return Promise.reject(e);
  }
}

export function attentionBackwardSync(dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
  out: Float32Array, lse: Float32Array, shape: AttentionShape, opts?: AttentionOptions): AttentionBackwardResult {
  return native.attentionBackwardSync(...backwardArgs('attentionBackwardSync', dout, q, k, v, out, lse, shape, opts));
}
