// Little-endian float decoding for checkpoint data: F32 as is, F16 and BF16 widened to f32.
// (Node 20 has no Float16Array.) The input is copied first: a Buffer from readFile may be an
// unaligned view into a shared pool.
import { endianness } from 'node:os';

export type DType = 'F32' | 'F16' | 'BF16';
export const DTYPE_BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2 };

if (endianness() !== 'LE') throw new Error('headgrad checkpoints: big-endian hosts are not supported');

export function isDType(s: unknown): s is DType {
  return s === 'F32' || s === 'F16' || s === 'BF16';
}

/** bytes holds n = bytes.length / DTYPE_BYTES[dtype] values. */
export function decodeFloats(bytes: Uint8Array, dtype: DType): Float32Array {
  if (dtype === 'F32') return new Float32Array(new Uint8Array(bytes).buffer);
  const n = bytes.length / 2;
  const out = new Float32Array(n);
  const u16 = new Uint16Array(new Uint8Array(bytes).buffer);
  if (dtype === 'BF16') {
    // bf16 is the top half of an f32
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = u16[i]! << 16;
  } else {
    f16ToF32(u16, out);
  }
  return out;
}

let f16Table: Float32Array | undefined;

/** out[i] = the f16 value whose bits are bits[i] (exact: every f16 is an f32), through a 64K-entry table. */
export function f16ToF32(bits: Uint16Array, out: Float32Array): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(1 << 16);
    for (let h = 0; h < 1 << 16; h++) f16Table[h] = halfToFloat(h);
  }
  const t = f16Table;
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]!]!;
  return out;
}

/** The f32 value of one bf16 bit pattern. */
export function bf16ToF32(bits: number): number {
  return new Float32Array(new Uint32Array([bits << 16]).buffer)[0]!;
}

/**
 * Index of the first NaN or ±Inf, or -1: f32 values, or bf16 bits (a Uint16Array; its exponent
 * bits are 0x7f80). For error messages only: the hot path leaves the check to the native import.
 */
export function firstNonFinite(values: Float32Array | Uint16Array): number {
  if (values instanceof Float32Array) return values.findIndex((x) => !Number.isFinite(x));
  return values.findIndex((b) => (b & 0x7f80) === 0x7f80);
}

// IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero and subnormals
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
