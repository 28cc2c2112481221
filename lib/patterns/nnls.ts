// Non-negative least squares, min ‖Ax − b‖₂ subject to x ≥ 0, by the Lawson–Hanson active-set
// method (Lawson & Hanson, "Solving Least Squares Problems", 1974, ch. 23).
// Written by hand after reading the npm candidates: ml-fcnnls 3.0.0 solves the normal equations
// AᵀA (squares the condition number; singular for the collinear bases decompose must survive),
// and nnls 3.0.1 seeds its step length from coefficient 0 whether or not that coefficient is in
// the passive set, and returns silently when its iteration cap runs out. Here each passive-set
// subproblem is solved through the SVD (least-norm when singular), and non-convergence throws.
import { Matrix } from 'ml-matrix';
import { pinv } from './least-squares.js';
import { HeadgradError, HeadgradRangeError } from '../errors.js';

export interface NnlsResult {
  x: Float64Array; // [p], every entry ≥ 0
  iterations: number;
}

/**
 * A: [n × p], b: [n]. Invariant: x > 0 on the passive set P, x = 0 elsewhere; the loop ends when
 * no zero coefficient has a positive gradient w = Aᵀ(b − Ax) (the KKT conditions of the problem).
 */
export function nnls(A: Matrix, b: ArrayLike<number>, o: { maxIterations?: number } = {}): NnlsResult {
  const n = A.rows;
  const p = A.columns;
  if (b.length !== n) throw new HeadgradRangeError(`nnls: b has ${b.length} values but A has ${n} rows`);
  const bv = Matrix.columnVector(Array.from(b));
  const x = new Float64Array(p);
  const passive = new Array<boolean>(p).fill(false);
  // w is Aᵀr, so its round-off scales with ‖A‖·‖b‖
  const wTol = 10 * Number.EPSILON * Math.max(n, p) * A.norm('frobenius') * bv.norm('frobenius');
  // A guard: Lawson–Hanson ends in finitely many steps; this many means round-off is cycling it.
  const maxIterations = o.maxIterations ?? 30 * Math.max(p, 1);
  // Columns that failed to enter P since x last changed (numerically dependent on P: L&H step 6).
  const blocked = new Array<boolean>(p).fill(false);
  let iterations = 0;

  for (;;) {
    const w = gradient(A, bv, x);
    let j = -1;
    for (let i = 0; i < p; i++) {
      if (!passive[i] && !blocked[i] && w[i]! > wTol && (j < 0 || w[i]! > w[j]!)) j = i;
    }
    if (j < 0) return { x, iterations };
    passive[j] = true;
    let z = solvePassive(A, bv, passive);
    if (z[j]! <= 0) {
      passive[j] = false;
      blocked[j] = true;
      continue;
    }
    blocked.fill(false);

    // Inner loop: if a coefficient of the solution on P went non-positive, step from x toward z
    // until the first one hits zero, drop it from P, and solve again.
    for (;;) {
      if (++iterations > maxIterations) throw new HeadgradError('ERR_HEADGRAD_NO_CONVERGENCE', `nnls: no convergence after ${maxIterations} iterations`);
      let alpha = 1;
      let hit = -1; // the coefficient that reaches zero first
      for (let i = 0; i < p; i++) {
        if (passive[i] && z[i]! <= 0 && x[i]! / (x[i]! - z[i]!) < alpha) {
          alpha = x[i]! / (x[i]! - z[i]!);
          hit = i;
        }
      }
      for (let i = 0; i < p; i++) x[i] = passive[i] ? x[i]! + alpha * (z[i]! - x[i]!) : 0;
      if (hit < 0) break;
      // `hit` is zero up to round-off; drop it explicitly so the loop cannot stall on a 1e-17.
      for (let i = 0; i < p; i++) {
        if (passive[i] && (i === hit || x[i]! <= 0)) {
          passive[i] = false;
          x[i] = 0;
        }
      }
      z = solvePassive(A, bv, passive);
    }
  }
}

// w = Aᵀ(b − Ax): the negative gradient of ½‖Ax − b‖² at x.
function gradient(A: Matrix, b: Matrix, x: Float64Array): Float64Array {
  const r = b.clone().sub(A.mmul(Matrix.columnVector(Array.from(x))));
  return Float64Array.from(A.transpose().mmul(r).getColumn(0));
}

// Unconstrained least squares on the passive columns; zero elsewhere.
function solvePassive(A: Matrix, b: Matrix, passive: boolean[]): Float64Array {
  const cols = passive.flatMap((on, i) => (on ? [i] : []));
  const z = new Float64Array(passive.length);
  const sol = pinv(A.subMatrixColumn(cols)).mmul(b).getColumn(0);
  cols.forEach((c, k) => (z[c] = sol[k]!));
  return z;
}
