// A small seeded PRNG for everything in lib/ that must be reproducible from a seed
// (data shuffles, task generation, permutation tests, random head draws).
// splitmix32 for seeding + mulberry32 for the stream: fast, 32-bit state, good enough for
// shuffling and sampling (not for cryptography).
import { HeadgradRangeError, HeadgradTypeError } from '../errors.js';

export class Rng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new HeadgradTypeError(`Rng: seed must be a finite number, got ${seed}`);
    // splitmix32 of the seed so that nearby seeds give unrelated streams
    let z = (Math.trunc(seed) + 0x9e3779b9) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    this.state = (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** k distinct indices from [0, n), in draw order. */
  sample(n: number, k: number): number[] {
    if (k > n) throw new HeadgradRangeError(`Rng.sample: cannot draw ${k} distinct items from ${n}`);
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const t = idx[i]!;
      idx[i] = idx[j]!;
      idx[j] = t;
    }
    return idx.slice(0, k);
  }
}
