// Statistics over head patterns (any array of numbers; a Pattern's `values` in practice).
//
// Error policy: a malformed call (empty input, lengths that differ, a non-finite value, a bad k)
// throws. A well-formed input on which the statistic is undefined returns NaN: gini/cv of values
// whose mean is 0, pearson/spearman when one side has zero variance, cosine when one side is the
// zero vector. A constant pattern is a legitimate (if dull) measurement, so a report shows "n/a"
// for it rather than failing as a whole. (JSON.stringify writes NaN as null.)
import { HeadgradRangeError, HeadgradTypeError } from '../errors.js';

type Values = ArrayLike<number>;

function check(a: Values, what: string): void {
  if (a == null || typeof a.length !== 'number') throw new HeadgradTypeError(`${what}: expected an array of numbers, got ${typeof a}`);
  if (a.length === 0) throw new HeadgradRangeError(`${what}: expected at least one value, got an empty array`);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new HeadgradRangeError(`${what}: value [${i}] must be a finite number, got ${a[i]}`);
  }
}

function checkPair(a: Values, b: Values, what: string): void {
  check(a, `${what}: a`);
  check(b, `${what}: b`);
  if (a.length !== b.length) throw new HeadgradRangeError(`${what}: a has ${a.length} values but b has ${b.length}`);
}

function mean(a: Values): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
}

/**
 * Gini coefficient G = Σ_i Σ_j |a_i − a_j| / (2 n² mean(a)) (docs/method.md), for non-negative values.
 * Computed in O(n log n): with x sorted ascending (1-based i), Σ_i Σ_j |x_i − x_j| = 2 Σ_i (2i − n − 1) x_i,
 * so G = Σ_i (2i − n − 1) x_i / (n Σ x). 0 = all equal; (n − 1)/n = all mass on one head.
 */
export function gini(a: Values): number {
  check(a, 'gini');
  const x = Float64Array.from(a).sort();
  if (x[0]! < 0) throw new HeadgradRangeError(`gini: values must be non-negative (an AP is), got ${x[0]}`);
  const n = x.length;
  let weighted = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    weighted += (2 * (i + 1) - n - 1) * x[i]!;
    total += x[i]!;
  }
  return total === 0 ? NaN : weighted / (n * total);
}

/** Coefficient of variation: population standard deviation (divide by n, not n − 1) over the mean. */
export function cv(a: Values): number {
  check(a, 'cv');
  const m = mean(a);
  let ss = 0;
  for (let i = 0; i < a.length; i++) ss += (a[i]! - m) ** 2;
  return m === 0 ? NaN : Math.sqrt(ss / a.length) / m;
}

/** Pearson correlation coefficient; NaN when either side has zero variance. */
export function pearson(a: Values, b: Values): number {
  checkPair(a, b, 'pearson');
  return pearsonUnchecked(a, b);
}

function pearsonUnchecked(a: Values, b: Values): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** 1-based ranks; tied values share the average of the ranks they span. */
export function ranks(a: Values): Float64Array {
  check(a, 'ranks');
  const order = Array.from({ length: a.length }, (_, i) => i).sort((i, j) => a[i]! - a[j]!);
  const r = new Float64Array(a.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && a[order[end]!] === a[order[start]!]) end++;
    const avg = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) r[order[k]!] = avg;
    start = end;
  }
  return r;
}

/** Spearman rank correlation: Pearson on average ranks (ties handled); NaN when either side is constant. */
export function spearman(a: Values, b: Values): number {
  checkPair(a, b, 'spearman');
  return pearsonUnchecked(ranks(a), ranks(b));
}

/** Cosine similarity a·b / (|a| |b|); NaN when either vector is all zeros. */
export function cosine(a: Values, b: Values): number {
  checkPair(a, b, 'cosine');
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa === 0 || bb === 0 ? NaN : ab / Math.sqrt(aa * bb);
}

/** Indices of the k largest values, largest first; equal values keep index order (lower index first). */
export function topK(values: Values, k: number): number[] {
  check(values, 'topK');
  if (!Number.isInteger(k) || k < 1 || k > values.length) {
    throw new HeadgradRangeError(`topK: k must be an integer in [1, ${values.length}], got ${k}`);
  }
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((i, j) => values[j]! - values[i]! || i - j);
  return idx.slice(0, k);
}

/** Jaccard overlap |A ∩ B| / |A ∪ B| of the top-k head sets of a and b (1 = same heads, 0 = disjoint). */
export function topKJaccard(a: Values, b: Values, k: number): number {
  checkPair(a, b, 'topKJaccard');
  const sa = new Set(topK(a, k));
  let common = 0;
  for (const i of topK(b, k)) if (sa.has(i)) common++;
  return common / (2 * k - common);
}
