// Deterministic shuffling and splitting: the same items and seed give the same split on every
// machine (Rng is a fixed 32-bit generator, not Math.random).
import { Rng } from '../util/random.js';
import { HeadgradRangeError } from '../errors.js';

/** A shuffled copy; the input is left as it was. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  return new Rng(seed).shuffle([...items]);
}

/**
 * Shuffles by seed, then takes round(testFraction · n) items as the test set. With 0 < fraction
 * < 1 and at least two items, both sides get at least one item.
 */
export function trainTestSplit<T>(items: readonly T[], o: { testFraction: number; seed: number }): { train: T[]; test: T[] } {
  const f = o.testFraction;
  if (typeof f !== 'number' || !(f >= 0 && f <= 1)) throw new HeadgradRangeError(`testFraction: expected a number in [0, 1], got ${f}`);
  const all = shuffled(items, o.seed);
  let k = Math.round(f * all.length);
  if (f > 0 && f < 1 && all.length >= 2) k = Math.min(Math.max(k, 1), all.length - 1);
  return { test: all.slice(0, k), train: all.slice(k) };
}
