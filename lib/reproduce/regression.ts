// Ordinary least squares with an intercept over the heads, and the two permutation tests that
// finding 2 reports: the head-shuffle test of R² (the target's heads shuffled), and the
// Freedman–Lane test of the R² that extra predictors add beyond a reduced model (residuals of
// the reduced fit shuffled and added back to its fitted values, so the covariates keep their
// relation to each other and only the extra predictors' alignment with the target is broken).
// The pseudo-inverse of the design is computed once per design, so a permutation costs
// O(heads · predictors).
import { Matrix } from 'ml-matrix';
import { fromColumns, pinv } from '../patterns/least-squares.js';
import { Rng } from '../util/random.js';
import { HeadgradRangeError } from '../errors.js';

export interface Design {
  n: number;
  /** [n × (1 + p)]: a column of ones, then the predictors. */
  X: Matrix;
  /** pinv(X) [(1 + p) × n]. */
  P: Matrix;
}

export function design(columns: readonly (readonly number[])[], n: number): Design {
  for (const c of columns) if (c.length !== n) throw new HeadgradRangeError(`regression: a predictor has ${c.length} values, the target ${n}`);
  const X = fromColumns([new Array<number>(n).fill(1), ...columns], n);
  return { n, X, P: pinv(X) };
}

/** Coefficients (intercept first) and R² of y on the design. */
export function fit(d: Design, y: readonly number[]): { coef: number[]; r2: number } {
  const coef = d.P.mmul(Matrix.columnVector([...y])).getColumn(0);
  const fitted = d.X.mmul(Matrix.columnVector(coef)).getColumn(0);
  return { coef, r2: r2Of(y, fitted) };
}

function r2Of(y: readonly number[], fitted: readonly number[]): number {
  const m = y.reduce((a, b) => a + b, 0) / y.length;
  let ssr = 0;
  let sst = 0;
  for (let i = 0; i < y.length; i++) {
    ssr += (y[i]! - fitted[i]!) ** 2;
    sst += (y[i]! - m) ** 2;
  }
  return sst > 0 ? 1 - ssr / sst : NaN;
}

/** Fitted values only (the permutation loops). */
function fitted(d: Design, y: readonly number[]): number[] {
  return d.X.mmul(d.P.mmul(Matrix.columnVector([...y]))).getColumn(0);
}

/** R² of y on the design, its head-shuffle p-value and the mean shuffled R². */
export function r2Test(d: Design, y: readonly number[], permutations: number, seed: number): { r2: number; pValue: number; nullR2: number } {
  const r2 = r2Of(y, fitted(d, y));
  const rng = new Rng(seed);
  let atLeast = 0;
  let sum = 0;
  for (let i = 0; i < permutations; i++) {
    const ys = rng.shuffle([...y]);
    const r = r2Of(ys, fitted(d, ys));
    sum += r;
    if (r >= r2 - 1e-12) atLeast++;
  }
  return { r2, pValue: (1 + atLeast) / (1 + permutations), nullR2: permutations ? sum / permutations : NaN };
}

/**
 * The R² that the full design adds over the reduced one (its columns a subset of the full
 * one's), with a Freedman–Lane permutation p-value.
 */
export function incrementalTest(full: Design, reduced: Design, y: readonly number[], permutations: number, seed: number): { r2Full: number; r2Reduced: number; delta: number; pValue: number } {
  const gain = (v: readonly number[]) => r2Of(v, fitted(full, v)) - r2Of(v, fitted(reduced, v));
  const yHat = fitted(reduced, y);
  const resid = y.map((v, i) => v - yHat[i]!);
  const r2Full = r2Of(y, fitted(full, y));
  const r2Reduced = r2Of(y, yHat);
  const delta = r2Full - r2Reduced;
  const rng = new Rng(seed);
  let atLeast = 0;
  for (let i = 0; i < permutations; i++) {
    const e = rng.shuffle([...resid]);
    if (gain(yHat.map((v, j) => v + e[j]!)) >= delta - 1e-12) atLeast++;
  }
  return { r2Full, r2Reduced, delta, pValue: (1 + atLeast) / (1 + permutations) };
}
