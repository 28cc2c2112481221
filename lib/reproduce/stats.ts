// Summary statistics over a handful of numbers (seeds, tasks) and the small-sample inference the
// verdicts rest on: Student-t confidence intervals over seeds, one-sided paired t-tests between
// application arms, percentile bootstrap intervals over probe samples. Plain float64 throughout.
import { Rng } from '../util/random.js';
import { HeadgradRangeError } from '../errors.js';

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1); 0 for a single value. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error ~1e-15).
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61503916999185, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = LANCZOS[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

// Continued fraction of the regularised incomplete beta (modified Lentz), valid for x < (a+1)/(a+b+2).
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const clamp = (v: number) => (Math.abs(v) < tiny ? tiny : v);
  let c = 1;
  let d = 1 / clamp(1 - ((a + b) * x) / (a + 1));
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    const even = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 / clamp(1 + even * d);
    c = clamp(1 + even / c);
    h *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 / clamp(1 + odd * d);
    c = clamp(1 + odd / c);
    h *= d * c;
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(a, b, x)) / a : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  if (!Number.isFinite(t)) return t > 0 ? 1 : 0;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom (bisection on tCdf). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new HeadgradRangeError(`tQuantile: p must be in (0, 1), got ${p}`);
  let lo = -1e6;
  let hi = 1e6;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A mean over seeds with its two-sided 95% Student-t interval (lo = hi = NaN for fewer than 2 values). */
export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  n: number;
  values: number[];
}

export function meanCI(values: readonly number[], level = 0.95): Interval {
  const xs = values.filter((v) => Number.isFinite(v));
  const m = xs.length ? mean(xs) : NaN;
  if (xs.length < 2) return { mean: m, lo: NaN, hi: NaN, n: xs.length, values: [...values] };
  const half = tQuantile(1 - (1 - level) / 2, xs.length - 1) * (std(xs) / Math.sqrt(xs.length));
  return { mean: m, lo: m - half, hi: m + half, n: xs.length, values: [...values] };
}

/**
 * One-sided paired t-test of H1: mean(a − b) > 0 over paired values (one pair per seed).
 * NaN for fewer than 2 pairs; when every difference is equal the test is degenerate: p = 0 if
 * they are positive, 1 otherwise.
 */
export function pairedTTest(a: readonly number[], b: readonly number[]): { meanDiff: number; t: number; pValue: number; n: number } {
  if (a.length !== b.length) throw new HeadgradRangeError(`pairedTTest: ${a.length} values against ${b.length}`);
  const d = a.map((x, i) => x - b[i]!);
  const n = d.length;
  const m = n ? mean(d) : NaN;
  if (n < 2) return { meanDiff: m, t: NaN, pValue: NaN, n };
  const s = std(d);
  if (s === 0) return { meanDiff: m, t: m > 0 ? Infinity : m < 0 ? -Infinity : 0, pValue: m > 0 ? 0 : 1, n };
  const t = m / (s / Math.sqrt(n));
  return { meanDiff: m, t, pValue: 1 - tCdf(t, n - 1), n };
}

/**
 * Percentile bootstrap 95% interval of stat(rows resampled with replacement), `draws` times.
 * rows: [n][k] per-sample values; stat sees the resampled rows.
 */
export function bootstrapCI(rows: readonly (readonly number[])[], stat: (rows: readonly (readonly number[])[]) => number, draws: number, seed: number): [number, number] {
  const rng = new Rng(seed);
  const n = rows.length;
  const out: number[] = [];
  for (let d = 0; d < draws; d++) {
    const pick = Array.from({ length: n }, () => rows[rng.int(n)]!);
    out.push(stat(pick));
  }
  out.sort((x, y) => x - y);
  const at = (q: number) => out[Math.min(out.length - 1, Math.max(0, Math.round(q * (out.length - 1))))]!;
  return [at(0.025), at(0.975)];
}
