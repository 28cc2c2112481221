// Exact sums of float32 values, independent of the order they are added in.
//
// Every finite f32 is an integer multiple of 2^-149 (the smallest subnormal) below 2^128, so
// x · 2^149 is an integer below 2^277: exact as a double (only the exponent moves) and exact as
// a BigInt. Adding those integers is exact, so a sum is the same whichever order or grouping
// the values arrive in: one process, or shards added up later. Reading a sum rounds once, to
// the nearest double. This is what lets `patterns merge` reproduce a single run bit for bit.
import { HeadgradRangeError } from '../errors.js';

const SCALE = 2 ** 149;
const UNSCALE = 2 ** -149;

export class ExactSums {
  readonly #acc: bigint[];

  constructor(n: number) {
    this.#acc = new Array<bigint>(n).fill(0n);
  }

  get length(): number {
    return this.#acc.length;
  }

  /** Adds x, which must be an f32 value (e.g. read from a Float32Array). */
  add(j: number, x: number): void {
    if (!Number.isFinite(x) || Math.fround(x) !== x) throw new HeadgradRangeError(`ExactSums.add: ${x} is not a finite float32 value`);
    this.#acc[j]! += BigInt(x * SCALE);
  }

  addAll(other: ExactSums): void {
    if (other.length !== this.length) throw new HeadgradRangeError(`ExactSums.addAll: lengths ${other.length} and ${this.length} differ`);
    for (let j = 0; j < this.#acc.length; j++) this.#acc[j]! += other.#acc[j]!;
  }

  /** The sums, each rounded once to the nearest double. */
  values(): Float64Array {
    // Number(bigint) rounds to nearest; the power-of-two scale is then exact (the result is
    // either 0 or at least 2^-149, far above the double subnormal range).
    return Float64Array.from(this.#acc, (s) => Number(s) * UNSCALE);
  }

  /** Lossless text form: each sum as the signed hexadecimal integer sum · 2^149. */
  toJSON(): string[] {
    return this.#acc.map((s) => (s < 0n ? '-0x' + (-s).toString(16) : '0x' + s.toString(16)));
  }

  static fromJSON(a: unknown, n: number, what: string): ExactSums {
    if (!Array.isArray(a) || a.length !== n) throw new HeadgradRangeError(`${what}: expected ${n} exact sums, got ${Array.isArray(a) ? a.length : typeof a}`);
    const out = new ExactSums(n);
    a.forEach((s, j) => {
      if (typeof s !== 'string' || !/^-?0x[0-9a-f]+$/.test(s)) throw new HeadgradRangeError(`${what}[${j}]: expected a hexadecimal integer like "0x1f" or "-0x1f", got ${JSON.stringify(s)}`);
      out.#acc[j] = s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s);
    });
    return out;
  }
}
