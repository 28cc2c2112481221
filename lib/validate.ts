// The argument checks of the public API, in one place. Their bounds are the addon's bounds
// (native/addon/*.cpp checks everything again for callers that reach it directly), and their
// messages use the same words, with every number printed exactly as JavaScript prints it, so a
// value refused here is refused there with the same text (test/validate.test.ts holds the two
// layers to that).
import { HeadgradRangeError, HeadgradTypeError } from './errors.js';

/** What a value is, for "expected X, got <describe>" messages (napi_util.h describe() mirrors it). */
export function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (Array.isArray(v)) return 'Array';
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return typeof v;
}

export function checkObject(o: unknown, name: string): asserts o is Record<string, unknown> {
  if (o === null || typeof o !== 'object' || Array.isArray(o) || ArrayBuffer.isView(o)) {
    throw new HeadgradTypeError(`${name}: expected an object, got ${describe(o)}`);
  }
}

/** An integer in [1, 1e9] (the addon's require_pos_int). */
export function checkPositiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number') throw new HeadgradTypeError(`${name}: expected a positive integer, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < 1 || v > 1e9) throw new HeadgradRangeError(`${name}: expected a positive integer, got ${describe(v)}`);
  return v;
}

/** An integer in [lo, hi] (the addon's int_field). */
export function checkInt(v: unknown, name: string, lo: number, hi: number): number {
  const what = (got: string) => `${name}: expected an integer in [${lo}, ${hi}], got ${got}`;
  if (typeof v !== 'number') throw new HeadgradTypeError(what(describe(v)));
  if (!Number.isInteger(v) || v < lo || v > hi) throw new HeadgradRangeError(what(String(v)));
  return v;
}

/** A number in [lo, hi]; NaN and ±Infinity are outside every range (the addon's num_field). */
export function checkNumberIn(v: unknown, name: string, lo: number, hi: number): number {
  const what = (got: string) => `${name}: expected a number in [${lo}, ${hi}], got ${got}`;
  if (typeof v !== 'number') throw new HeadgradTypeError(what(describe(v)));
  if (!(v >= lo && v <= hi)) throw new HeadgradRangeError(what(String(v)));
  return v;
}

export function checkBoolean(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw new HeadgradTypeError(`${name}: expected a boolean, got ${describe(v)}`);
  return v;
}

/** One of `choices` (the addon's optional_choice: "expected one of a|b, got 'x'"). */
export function checkChoice<T extends string>(v: unknown, name: string, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    const got = typeof v === 'string' ? `'${v}'` : describe(v);
    throw new HeadgradTypeError(`${name}: expected one of ${choices.join('|')}, got ${got}`);
  }
  return v as T;
}

/** Token ids in [lo, hi), and `length` of them when given. */
export function checkTokens(a: unknown, name: string, length: number | undefined, lo: number, hi: number): Int32Array {
  if (!(a instanceof Int32Array)) throw new HeadgradTypeError(`${name}: expected an Int32Array, got ${describe(a)}`);
  if (length !== undefined && a.length !== length) throw new HeadgradRangeError(`${name}: expected length batch*seqLen = ${length}, got ${a.length}`);
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < lo || a[i]! >= hi) throw new HeadgradRangeError(`${name}[${i}]: expected a token id in [${lo}, ${hi}), got ${a[i]}`);
  }
  return a;
}

/** A Float32Array of `length` finite values (each >= min when given). */
export function checkFloats(a: unknown, name: string, length: number, min?: number): Float32Array {
  if (!(a instanceof Float32Array)) throw new HeadgradTypeError(`${name}: expected a Float32Array, got ${describe(a)}`);
  if (a.length !== length) throw new HeadgradRangeError(`${name}: expected length ${length}, got ${a.length}`);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) || (min !== undefined && a[i]! < min)) {
      throw new HeadgradRangeError(`${name}[${i}]: expected a finite number${min !== undefined ? ` >= ${min}` : ''}, got ${a[i]}`);
    }
  }
  return a;
}

/** A Float32Array of exactly `length` elements (finiteness is left to the caller or the addon's scan). */
export function checkFloat32Length(a: unknown, name: string, length: number, dims: string): Float32Array {
  if (!(a instanceof Float32Array)) throw new HeadgradTypeError(`${name}: expected a Float32Array, got ${describe(a)}`);
  if (a.length !== length) throw new HeadgradRangeError(`${name}: expected length ${length} (${dims}), got ${a.length}`);
  return a;
}

/** model.step() bounds, [lo, hi] inclusive, as native/addon/gpt_binding.cpp Step() applies them. */
export const STEP_BOUNDS = {
  lr: [0, 1e9],
  beta1: [0, 0.999999],
  beta2: [0, 0.999999999],
  eps: [1e-30, 1],
  weightDecay: [0, 1e9],
  gradClip: [0, 1e30],
} as const satisfies Record<string, readonly [number, number]>;

/** Attention limits, as native/addon/attention_binding.cpp and core/attention.h apply them. */
export const MAX_HEAD_DIM = 256;
/** batch·heads·seqLen·headDim must stay below this many elements. */
export const MAX_ATTENTION_ELEMENTS = 4e9;
/** opts.scale in [0, MAX_SCALE]; 0 selects 1/sqrt(headDim). */
export const MAX_SCALE = 3.4e38;
