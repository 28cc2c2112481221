import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Matrix } from 'ml-matrix';
import { decompose, type Pattern } from '../lib/index.js';
import { nnls } from '../lib/utils.js';
import { Rng } from '../lib/util/random.js';
import { within } from './helpers/compare.js';
import { testSeed } from './helpers/seed.js';

const SEED = testSeed('decompose');

// |a − b| below tol, recorded for the seed sweep under the check's name (tol 0: exactly equal)
const close = (a: number, b: number, tol: number, what: string) =>
  tol === 0 ? assert.is(a, b, what) : within(`decompose ${what}`, Math.abs(a - b), tol, `${a} vs ${b}`);

function randomPattern(rng: Rng, layers: number, heads: number): Pattern {
  return { layers, heads, values: Float64Array.from({ length: layers * heads }, () => rng.next()) };
}

function combine(bases: Pattern[], alpha: number[], c: number, noise = 0, rng?: Rng): Pattern {
  const values = bases[0]!.values.map((_, i) => c + bases.reduce((s, b, j) => s + alpha[j]! * b.values[i]!, 0) + (noise ? noise * rng!.normal() : 0));
  return { layers: bases[0]!.layers, heads: bases[0]!.heads, values };
}

// Independent OLS reference: normal equations [X 1]ᵀ[X 1] β = [X 1]ᵀ y by Gaussian elimination.
function olsReference(y: Float64Array, xs: Float64Array[], intercept: boolean): number[] {
  const cols = intercept ? [...xs, y.map(() => 1)] : xs;
  const p = cols.length;
  const A = cols.map((ci) => [...cols.map((cj) => ci.reduce((s, v, k) => s + v * cj[k]!, 0)), ci.reduce((s, v, k) => s + v * y[k]!, 0)]);
  for (let i = 0; i < p; i++) {
    for (let r = i + 1; r < p; r++) {
      const f = A[r]![i]! / A[i]![i]!;
      for (let c = i; c <= p; c++) A[r]![c]! -= f * A[i]![c]!;
    }
  }
  const beta = new Array<number>(p).fill(0);
  for (let i = p - 1; i >= 0; i--) {
    let s = A[i]![p]!;
    for (let c = i + 1; c < p; c++) s -= A[i]![c]! * beta[c]!;
    beta[i] = s / A[i]![i]!;
  }
  return beta;
}

test('OLS recovers known coefficients exactly without noise (with and without intercept, odd shapes)', () => {
  const rng = new Rng(SEED + 10);
  for (const [L, H] of [[3, 5], [12, 12], [1, 7]] as const) {
    const a = randomPattern(rng, L, H);
    const b = randomPattern(rng, L, H);
    for (const intercept of [true, false]) {
      const c = intercept ? 0.3 : 0;
      const r = decompose(combine([a, b], [0.7, -1.2], c), { math: a, code: b }, { method: 'ols', intercept, permutations: 10 });
      close(r.coefficients.math!, 0.7, 1e-10, 'exact OLS math');
      close(r.coefficients.code!, -1.2, 1e-10, 'exact OLS code');
      if (intercept) close(r.intercept!, 0.3, 1e-10, 'exact OLS intercept');
      else assert.is(r.intercept, undefined);
      close(r.r2, 1, 1e-12, 'exact OLS r2');
      assert.is(r.n, L * H);
    }
  }
});

test('OLS with noise matches an independent normal-equations reference', () => {
  const rng = new Rng(SEED + 11);
  const bases = [randomPattern(rng, 6, 8), randomPattern(rng, 6, 8), randomPattern(rng, 6, 8)];
  const target = combine(bases, [0.5, 0.2, 1.5], -0.1, 0.05, rng);
  for (const intercept of [true, false]) {
    const r = decompose(target, { a: bases[0]!, b: bases[1]!, c: bases[2]! }, { method: 'ols', intercept, permutations: 10 });
    const ref = olsReference(target.values, bases.map((b) => b.values), intercept);
    ['a', 'b', 'c'].forEach((k, j) => close(r.coefficients[k]!, ref[j]!, 1e-9, 'noisy OLS vs normal equations'));
    if (intercept) close(r.intercept!, ref[3]!, 1e-9, 'noisy OLS vs normal equations intercept');
    assert.ok(r.r2 > 0.9 && r.r2 < 1);
    close(r.adjustedR2, 1 - ((1 - r.r2) * 47) / (48 - (intercept ? 4 : 3)), 1e-12, 'noisy OLS adjusted R²');
  }
  const r = decompose(target, { a: bases[0]!, b: bases[1]!, c: bases[2]! }, { method: 'ols', intercept: true, permutations: 10 });
  close(r.coefficients.c!, 1.5, 0.1, 'noisy OLS c with noise');
});

// NNLS optimum = the best unconstrained least-squares fit over supports whose solution is ≥ 0.
function nnlsBruteForce(A: Matrix, b: number[]): { x: number[]; ssr: number } {
  const p = A.columns;
  let best = { x: new Array<number>(p).fill(0), ssr: b.reduce((s, v) => s + v * v, 0) };
  for (let mask = 1; mask < 1 << p; mask++) {
    const cols = [...Array(p).keys()].filter((j) => mask & (1 << j));
    const sub = A.subMatrixColumn(cols);
    const z = olsReference(Float64Array.from(b), cols.map((j) => Float64Array.from(A.getColumn(j))), false);
    if (z.some((v) => v < 0)) continue;
    const r = Matrix.columnVector(b).sub(sub.mmul(Matrix.columnVector(z)));
    const ssr = r.getColumn(0).reduce((s, v) => s + v * v, 0);
    if (ssr < best.ssr) {
      const x = new Array<number>(p).fill(0);
      cols.forEach((j, k) => (x[j] = z[k]!));
      best = { x, ssr };
    }
  }
  return best;
}

test('NNLS (Lawson–Hanson) agrees with brute-force enumeration of active sets', () => {
  const rng = new Rng(SEED + 12);
  for (let trial = 0; trial < 40; trial++) {
    const n = 5 + rng.int(20);
    const p = 1 + rng.int(5);
    const A = new Matrix(n, p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) A.set(i, j, rng.normal());
    const b = Array.from({ length: n }, () => rng.normal());
    const got = nnls(A, b).x;
    const ref = nnlsBruteForce(A, b);
    ref.x.forEach((v, j) => close(got[j]!, v, 1e-9, 'NNLS vs brute force x'));
    assert.ok(got.every((v) => v >= 0));
  }
});

test('decompose with NNLS (solved on the QR-reduced problem) matches brute force on the full problem', () => {
  const rng = new Rng(SEED + 22);
  for (let trial = 0; trial < 10; trial++) {
    const bases = [0, 1, 2, 3].map(() => ({ layers: 3, heads: 7, values: Float64Array.from({ length: 21 }, () => rng.normal()) }));
    const target = { layers: 3, heads: 7, values: Float64Array.from({ length: 21 }, () => rng.normal()) };
    const A = new Matrix(21, 4);
    bases.forEach((b, j) => b.values.forEach((v, i) => A.set(i, j, v)));
    const ref = nnlsBruteForce(A, Array.from(target.values));
    const r = decompose(target, { a: bases[0]!, b: bases[1]!, c: bases[2]!, d: bases[3]! }, { method: 'nnls', intercept: false, permutations: 10 });
    ['a', 'b', 'c', 'd'].forEach((k, j) => close(r.coefficients[k]!, ref.x[j]!, 1e-9, 'NNLS decompose vs brute force'));
  }
});

test('NNLS clips a known negative coefficient to zero; OLS keeps it negative', () => {
  const rng = new Rng(SEED + 13);
  const a = randomPattern(rng, 8, 8);
  const b = randomPattern(rng, 8, 8);
  const target = combine([a, b], [2, -1], 0, 0.01, rng);
  const ols = decompose(target, { a, b }, { method: 'ols', intercept: false, permutations: 10 });
  const nn = decompose(target, { a, b }, { method: 'nnls', intercept: false, permutations: 10 });
  close(ols.coefficients.b!, -1, 0.05, 'OLS keeps the negative coefficient');
  assert.is(nn.coefficients.b, 0);
  assert.ok(nn.coefficients.a! > 0);
  assert.ok(nn.r2 < ols.r2);
});

test('NNLS leaves the intercept unconstrained (a negative intercept is recovered)', () => {
  const rng = new Rng(SEED + 14);
  const a = randomPattern(rng, 4, 9);
  const b = randomPattern(rng, 4, 9);
  const r = decompose(combine([a, b], [0.4, 1.1], -5), { a, b }, { method: 'nnls', intercept: true, permutations: 10 });
  close(r.coefficients.a!, 0.4, 1e-9, 'NNLS free intercept a');
  close(r.coefficients.b!, 1.1, 1e-9, 'NNLS free intercept b');
  close(r.intercept!, -5, 1e-9, 'NNLS free intercept');
});

test('permutation p-value: minimal for a real relation, not small for noise, and seeded', () => {
  const rng = new Rng(SEED + 15);
  const a = randomPattern(rng, 12, 12);
  const b = randomPattern(rng, 12, 12);
  const real = decompose(combine([a, b], [1, 0.5], 0, 0.1, rng), { a, b }, { method: 'ols', intercept: true, permutations: 999, seed: 3 });
  close(real.pValue, 1 / 1000, 0, 'p for a real relation');
  const pNoise: number[] = [];
  for (let s = 0; s < 20; s++) {
    const noise = randomPattern(rng, 12, 12);
    pNoise.push(decompose(noise, { a, b }, { method: 'nnls', intercept: true, permutations: 199, seed: s }).pValue);
  }
  const meanP = pNoise.reduce((x, y) => x + y, 0) / pNoise.length;
  // Bounds from the null, so that a fresh seed fails with probability ~1e-5, not at random: each
  // noise p is about uniform, so the mean of 20 has sd 0.065 and (0.2, 0.8) is ±4.6 sd (2 in 10^6;
  // (0.3, 0.7) failed ~0.2% of seeds); the count of p ≤ 0.05 is ~Binomial(20, 0.05) and
  // P(count ≥ 8) = 1.1e-6 (the earlier ≤ 3 failed 1.6% of seeds). A broken test that always
  // finds a relation gives p ≈ 0.005 every time and fails both.
  assert.ok(meanP > 0.2 && meanP < 0.8, `mean p over noise targets ${meanP} (expect about 0.5)`);
  assert.ok(pNoise.filter((p) => p <= 0.05).length <= 7, `too many small p for noise: ${pNoise}`);
  const again = decompose(combine([a, b], [1, 0.5], 0), { a, b }, { method: 'ols', intercept: true, permutations: 50, seed: 9 });
  const twice = decompose(combine([a, b], [1, 0.5], 0), { a, b }, { method: 'ols', intercept: true, permutations: 50, seed: 9 });
  assert.is(again.pValue, twice.pValue);
});

// R² = 1 − SSR/SST (SST about the mean) of the least-squares fit of y on the given columns
// (+ intercept), with the coefficients constrained ≥ 0 when nonNegative: the best over all
// subsets of columns whose unconstrained fit is feasible (the NNLS optimum is the OLS fit on
// its own support, and every feasible subset fit is a candidate), by the normal equations.
function r2Reference(y: Float64Array, xs: Float64Array[], nonNegative: boolean): number {
  const mean = y.reduce((s, v) => s + v, 0) / y.length;
  const sst = y.reduce((s, v) => s + (v - mean) ** 2, 0);
  let best = Infinity;
  for (let mask = 0; mask < 1 << xs.length; mask++) {
    if (!nonNegative && mask !== (1 << xs.length) - 1) continue;
    const cols = xs.filter((_, i) => mask & (1 << i));
    const beta = olsReference(y, cols, true);
    if (nonNegative && beta.slice(0, cols.length).some((v) => v < 0)) continue;
    const ssr = y.reduce((s, v, k) => s + (v - cols.reduce((f, c, j) => f + beta[j]! * c[k]!, beta[cols.length]!)) ** 2, 0);
    best = Math.min(best, ssr);
  }
  return 1 - best / sst;
}

test('leave-one-out R² equals an independent refit without that base (OLS and NNLS, three bases)', () => {
  const rng = new Rng(SEED + 16);
  const [a, b, c] = [randomPattern(rng, 5, 6), randomPattern(rng, 5, 6), randomPattern(rng, 5, 6)];
  // c enters negatively, so NNLS must drop it and its leave-one-out differs from OLS's
  const target = combine([a, b, c], [2, 0.1, -0.8], 0.2, 0.05, rng);
  const bases = { a, b, c };
  for (const method of ['ols', 'nnls'] as const) {
    const r = decompose(target, bases, { method, intercept: true, permutations: 10 });
    for (const name of ['a', 'b', 'c'] as const) {
      const others = Object.entries(bases).filter(([k]) => k !== name).map(([, p]) => p.values);
      close(r.leaveOneOut[name]!, r2Reference(target.values, others, method === 'nnls'), 1e-10, `leave-one-out ${method} without ${name}`);
    }
    close(r.r2, r2Reference(target.values, [a.values, b.values, c.values], method === 'nnls'), 1e-10, `leave-one-out ${method} full`);
  }
  const ols = decompose(target, bases, { method: 'ols', intercept: true, permutations: 10 });
  assert.ok(ols.leaveOneOut.a! < ols.r2 - 0.3 && ols.leaveOneOut.b! > ols.r2 - 0.05, 'a carries the fit, b barely');
  // one base, left out: the intercept-only model, R² = 0
  close(decompose(target, { a }, { method: 'nnls', intercept: true, permutations: 10 }).leaveOneOut.a!, 0, 1e-12, 'leave-one-out of the only base');
});

test('R² is centred, so a fit without an intercept can be negative', () => {
  const rng = new Rng(SEED + 17);
  const a = randomPattern(rng, 4, 4);
  const target = { layers: 4, heads: 4, values: a.values.map(() => 10 + rng.normal()) };
  const r = decompose(target, { a: { ...a, values: a.values.map((v) => v - 0.5) } }, { method: 'ols', intercept: false, permutations: 10 });
  assert.ok(r.r2 < 0, `r2 = ${r.r2}`);
});

test('collinear bases: least-norm answer and a note', () => {
  const rng = new Rng(SEED + 18);
  const a = randomPattern(rng, 6, 6);
  const b = randomPattern(rng, 6, 6);
  const sum = { ...a, values: a.values.map((v, i) => v + b.values[i]!) };
  const r = decompose(sum, { a, b, sum }, { method: 'ols', intercept: false, permutations: 10 });
  // β_a + β_sum = 1, β_b + β_sum = 1, least ‖β‖ -> (1/3, 1/3, 2/3)
  close(r.coefficients.a!, 1 / 3, 1e-9, 'collinear a');
  close(r.coefficients.b!, 1 / 3, 1e-9, 'collinear b');
  close(r.coefficients.sum!, 2 / 3, 1e-9, 'collinear sum');
  close(r.r2, 1, 1e-12, 'collinear r2');
  assert.is(r.rank, 2);
  assert.match(r.notes.join(' '), /collinear \(rank 2 of 3\).*least-norm/);
  const nn = decompose(sum, { a, b, sum }, { method: 'nnls', intercept: false, permutations: 10 });
  close(nn.r2, 1, 1e-9, 'collinear NNLS r2');
});

test('a constant target: R² and p are NaN, with a note', () => {
  const rng = new Rng(SEED + 23);
  const a = randomPattern(rng, 3, 3);
  const r = decompose({ ...a, values: new Float64Array(9).fill(2) }, { a }, { method: 'ols', intercept: true, permutations: 10 });
  assert.ok(Number.isNaN(r.r2) && Number.isNaN(r.pValue));
  assert.match(r.notes.join(' '), /constant/);
});

test('bad input: clear errors', () => {
  const rng = new Rng(SEED + 19);
  const a = randomPattern(rng, 2, 2);
  const o = { method: 'ols', intercept: true } as const;
  assert.throws(() => decompose(a, { x: a, y: a, z: a }, o), /4 heads cannot determine 4 coefficients \(3 bases \+ intercept\)/);
  assert.throws(() => decompose(a, { b: randomPattern(rng, 2, 3) }, o), /base "b" is 2 × 3 .* target is 2 × 2/);
  assert.throws(() => decompose(a, {}, o), /at least one/);
  assert.throws(() => decompose(a, { b: undefined as unknown as typeof a }, o), /base "b" must be a pattern \{ layers, heads, values \}, got undefined/);
  assert.throws(() => decompose(a, { a }, { method: 'lasso' as 'ols', intercept: true }), /method must be 'ols' or 'nnls', got "lasso"/);
  assert.throws(() => decompose(a, { a }, { ...o, permutations: 0 }), /permutations must be a positive integer/);
  assert.throws(() => decompose({ ...a, values: Float64Array.of(1, 2, NaN, 4) }, { a }, o), /target: values\[2\] must be a finite number/);
});

test.run();
