// Pattern decomposition (docs/method.md finding 2): target ≈ Σ_i α_i base_i (+ c), fitted over all
// layers·heads heads, with a permutation p-value and leave-one-base-out R².
//
// Choices the paper leaves open, made here:
// - Intercept: optional. With one, target and bases are centred, the slopes are fitted on the
//   centred data and c = mean(target) − Σ α_i mean(base_i); so the intercept is never
//   constrained, not even by NNLS, and never shrunk by the least-norm rule.
// - Negative α: 'ols' allows them, 'nnls' (Lawson–Hanson) constrains α ≥ 0.
// - R² = 1 − SSR/SST with SST centred about the target mean, for both fits. Without an
//   intercept this compares the fit with "predict the mean", so R² can be negative.
// - Adjusted R² = 1 − (1 − R²)(n − 1)/(n − k), k = fitted coefficients (bases + intercept).
// - p-value: shuffle the target's heads, refit, p = (1 + #{R²_perm ≥ R²_obs}) / (1 + permutations).
// - A constant target has SST = 0: R², adjusted R² and p are NaN, with a note.
// - Collinear bases: OLS returns the least-norm solution (SVD pseudo-inverse) and a note.
import { QrDecomposition } from 'ml-matrix';
import { Rng } from '../util/random.js';
import { fromColumns, pinv, rank } from './least-squares.js';
import { nnls } from './nnls.js';
import { assertSameShape, patternFromArray, type Pattern } from './pattern.js';
import { HeadgradRangeError, HeadgradTypeError } from '../errors.js';

export type DecomposeMethod = 'ols' | 'nnls';

export interface DecomposeOptions {
  method: DecomposeMethod;
  intercept: boolean;
  permutations?: number; // default 1000
  seed?: number; // default 0
}

export interface Decomposition {
  coefficients: Record<string, number>;
  intercept?: number;
  r2: number;
  adjustedR2: number;
  pValue: number;
  /** R² of the same fit without that base. */
  leaveOneOut: Record<string, number>;
  n: number; // heads fitted (layers · heads)
  method: DecomposeMethod;
  permutations: number;
  seed: number;
  rank: number; // numerical rank of the (centred) bases
  notes: string[];
}

interface Fit {
  slopes: Float64Array;
  intercept: number; // 0 without an intercept
  ssr: number;
}

export function decompose(target: Pattern, bases: Record<string, Pattern>, opts: DecomposeOptions): Decomposition {
  const { method, intercept, permutations, seed } = checkOptions(opts);
  const t = patternFromArray(target?.layers, target?.heads, target?.values, 'decompose: target');
  const names = Object.keys(bases ?? {});
  if (names.length === 0) throw new HeadgradRangeError('decompose: bases must name at least one pattern');
  const columns = names.map((name) => {
    const given = bases[name];
    if (given == null) throw new HeadgradTypeError(`decompose: base "${name}" must be a pattern { layers, heads, values }, got ${given}`);
    const b = patternFromArray(given.layers, given.heads, given.values, `decompose: base "${name}"`);
    assertSameShape(t, b, 'the target', `decompose: base "${name}"`);
    return b.values;
  });
  const n = t.values.length;
  const k = names.length + (intercept ? 1 : 0);
  if (n <= k) {
    throw new HeadgradRangeError(
      `decompose: ${n} heads cannot determine ${k} coefficients (${names.length} bases${intercept ? ' + intercept' : ''}); need more heads than coefficients`,
    );
  }

  const y = t.values;
  const sst = centredSumOfSquares(y);
  const fitter = makeFitter(columns, n, method, intercept);
  const full = fitter.fit(y);
  const r2 = 1 - full.ssr / sst;

  // A shuffle that fits as well as the data up to round-off counts as "at least as good".
  const threshold = r2 - 1e-12;
  let atLeast = 0;
  const rng = new Rng(seed);
  const shuffled = Array.from(y);
  for (let i = 0; i < permutations; i++) {
    if (1 - fitter.fit(rng.shuffle(shuffled)).ssr / sst >= threshold) atLeast++;
  }

  const leaveOneOut: Record<string, number> = {};
  names.forEach((name, j) => {
    const others = columns.filter((_, i) => i !== j);
    leaveOneOut[name] = 1 - makeFitter(others, n, method, intercept).fit(y).ssr / sst;
  });

  const notes: string[] = [];
  if (sst === 0) notes.push('the target is constant over all heads: R² is undefined (NaN)');
  if (fitter.rank < names.length) {
    notes.push(
      `the bases are collinear (rank ${fitter.rank} of ${names.length}): the coefficients are not unique` +
        (method === 'ols' ? '; this is the least-norm solution' : '; NNLS returned one of the optimal solutions'),
    );
  }

  return {
    coefficients: Object.fromEntries(names.map((name, j) => [name, full.slopes[j]!])),
    ...(intercept ? { intercept: full.intercept } : {}),
    r2,
    adjustedR2: 1 - ((1 - r2) * (n - 1)) / (n - k),
    pValue: sst === 0 ? NaN : (1 + atLeast) / (1 + permutations),
    leaveOneOut,
    n,
    method,
    permutations,
    seed,
    rank: fitter.rank,
    notes,
  };
}

function checkOptions(opts: DecomposeOptions): Required<DecomposeOptions> {
  if (opts == null || typeof opts !== 'object') throw new HeadgradTypeError('decompose: options must be an object { method, intercept }');
  if (opts.method !== 'ols' && opts.method !== 'nnls') {
    throw new HeadgradTypeError(`decompose: method must be 'ols' or 'nnls', got ${JSON.stringify(opts.method)}`);
  }
  if (typeof opts.intercept !== 'boolean') throw new HeadgradTypeError(`decompose: intercept must be true or false, got ${JSON.stringify(opts.intercept)}`);
  const permutations = opts.permutations ?? 1000;
  if (!Number.isInteger(permutations) || permutations < 1) {
    throw new HeadgradRangeError(`decompose: permutations must be a positive integer, got ${JSON.stringify(opts.permutations)}`);
  }
  const seed = opts.seed ?? 0;
  if (!Number.isFinite(seed)) throw new HeadgradRangeError(`decompose: seed must be a finite number, got ${JSON.stringify(opts.seed)}`);
  return { method: opts.method, intercept: opts.intercept, permutations, seed };
}

function centredSumOfSquares(y: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < y.length; i++) m += y[i]!;
  m /= y.length;
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i]! - m) ** 2;
  return s;
}

function columnMean(c: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i]!;
  return s / c.length;
}

/**
 * Prepares the design once (centring, then for OLS the pseudo-inverse X⁺ and for NNLS a thin
 * QR X = QR) so that each refit in the permutation test is one [p × n] product plus, for NNLS,
 * a [p × p] solve: ‖Xβ − y‖² = ‖Rβ − Qᵀy‖² + ‖(I − QQᵀ)y‖², so NNLS on (R, Qᵀy) has the same
 * minimiser as on (X, y), without forming XᵀX.
 */
function makeFitter(columns: Float64Array[], n: number, method: DecomposeMethod, intercept: boolean) {
  const p = columns.length;
  const means = columns.map((c) => (intercept ? columnMean(c) : 0));
  const X = fromColumns(
    columns.map((c, j) => c.map((v) => v - means[j]!)),
    n,
  ); // [n × p]
  const qr = method === 'nnls' && p > 0 ? new QrDecomposition(X) : null;
  const R = qr?.upperTriangularMatrix; // [p × p]
  const project = p === 0 ? [] : (qr ? qr.orthogonalMatrix.transpose() : pinv(X)).to2DArray().map((row) => Float64Array.from(row)); // [p × n]

  const fit = (y: ArrayLike<number>): Fit => {
    const yMean = intercept ? columnMean(y) : 0;
    const proj = project.map((row) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += row[i]! * (y[i]! - yMean);
      return s;
    });
    const slopes = R ? nnls(R, proj).x : Float64Array.from(proj);
    let c = yMean;
    slopes.forEach((a, j) => (c -= a * means[j]!));
    let ssr = 0;
    for (let i = 0; i < n; i++) {
      let pred = c;
      for (let j = 0; j < p; j++) pred += slopes[j]! * columns[j]![i]!;
      ssr += (y[i]! - pred) ** 2;
    }
    return { slopes, intercept: c, ssr };
  };
  return { fit, rank: rank(X) };
}
