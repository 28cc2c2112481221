// The reproduction's own measuring tools on synthetic inputs with known answers: OLS R² and the
// two permutation tests (a real extra predictor is detected, a noise predictor is not; R²
// against a float64 normal-equations reference), the loss-matched interpolation, the per-sample
// normalised AP, the final-answer checkers for user task files, and the format samples.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { design, fit, incrementalTest, r2Test } from '../lib/reproduce/regression.js';
import { atHalfLoss } from '../lib/reproduce/finding1.js';
import { meanAP, normalisedAP } from '../lib/reproduce/probe.js';
import { lastNumber, makeChecker } from '../lib/reproduce/suite.js';
import { formatSamples, FORMAT_TASKS } from '../lib/reproduce/format-tasks.js';
import { TASKS } from '../lib/data/tasks.js';
import { Rng } from '../lib/util/random.js';
import { testSeed } from './helpers/seed.js';

const rng = new Rng(testSeed('reproduce-methods'));
const noise = (n: number) => Array.from({ length: n }, () => rng.normal());

// R² by the normal equations in float64 for a single predictor (closed form)
function r2One(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b) / n;
  const my = y.reduce((a, b) => a + b) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return (sxy * sxy) / (sxx * syy);
}

test('OLS with intercept: coefficients and R² against closed forms', () => {
  for (const n of [5, 32, 97]) {
    const x = noise(n);
    const y = x.map((v, i) => 3 - 2 * v + 0.1 * Math.sin(i));
    const f = fit(design([x], n), y);
    assert.ok(Math.abs(f.r2 - r2One(x, y)) < 1e-10, `n ${n}`);
    // the slope is −2 plus the fit of 0.1·sin(i) on x, at most 0.1·‖sin − mean‖/‖x − mean‖ by
    // Cauchy–Schwarz: a bound that holds for every draw (a fixed 0.2 failed when five draws of x
    // happened to sit close together)
    const centred = (v: number[]) => { const m = v.reduce((a, b) => a + b) / v.length; return Math.hypot(...v.map((t) => t - m)); };
    const slack = (0.1 * centred(x.map((_, i) => Math.sin(i)))) / centred(x);
    assert.ok(Math.abs(f.coef[1]! + 2) <= slack * (1 + 1e-9) + 1e-12 && f.coef.length === 2, `slope ${f.coef[1]}, bound ${slack}`);
  }
  // an exact fit
  const x1 = noise(20);
  const x2 = noise(20);
  assert.ok(Math.abs(fit(design([x1, x2], 20), x1.map((v, i) => 1 + v - 0.5 * x2[i]!)).r2 - 1) < 1e-12);
});

test('permutation tests: a real signal is detected, noise is not', () => {
  const n = 64;
  const base = noise(n);
  const extra = noise(n);
  const y = base.map((b, i) => -b + 0.5 * extra[i]! + 0.2 * rng.normal());
  const r = r2Test(design([base, extra], n), y, 400, 1);
  assert.ok(r.pValue < 0.01 && r.nullR2 < 0.15, JSON.stringify(r));
  // the extra predictor adds beyond base: small p; a noise predictor adds nothing: p well above 0.05 on average
  const inc = incrementalTest(design([base, extra], n), design([base], n), y, 400, 2);
  assert.ok(inc.delta > 0.05 && inc.pValue < 0.01, JSON.stringify(inc));
  const ps: number[] = [];
  for (let k = 0; k < 20; k++) ps.push(incrementalTest(design([base, noise(n)], n), design([base], n), y, 200, 3 + k).pValue);
  // Bounds from the null distribution, so that a fresh seed fails with probability ~1e-6, not at
  // random: under the null each p is ~uniform, so the count below 0.05 is ~Binomial(20, 0.05) and
  // P(count ≥ 8) = 1.1e-6 (≤ 4 failed ~0.3% of seeds); the mean of 20 uniform p has sd 0.065, and
  // P(mean ≤ 0.2) = P(z ≤ −4.6) = 2e-6 (> 0.3 failed ~0.1%). A test that ignored the noise
  // predictor's null would give p ≈ 0 every time and fail both.
  assert.ok(ps.filter((p) => p < 0.05).length <= 7, `noise predictor significant ${ps.filter((p) => p < 0.05).length} of 20 times`);
  assert.ok(ps.reduce((a, b) => a + b) / ps.length > 0.2, `mean p of a noise predictor ${ps.reduce((a, b) => a + b) / ps.length}`);
  // a target that IS its own base: a high R², nothing left to add
  const y2 = base.map((b) => -b);
  const inc2 = incrementalTest(design([base, extra], n), design([base], n), y2, 100, 4);
  assert.ok(Math.abs(inc2.r2Reduced - 1) < 1e-12 && Math.abs(inc2.delta) < 1e-12);
});

test('loss-matched change: interpolated where the loss first halves; NaN if it never does', () => {
  // loss 4 -> 3 -> 1: halves (2) two thirds of the way from 3 to 1 (value 0.5 -> 0.8)
  const pts = [{ loss: 4, value: 0.2 }, { loss: 3, value: 0.5 }, { loss: 1, value: 0.8 }, { loss: 0.5, value: 0.9 }];
  assert.ok(Math.abs(atHalfLoss(pts) - (0.5 + 0.5 * 0.3 - 0.2)) < 1e-12);
  assert.ok(Number.isNaN(atHalfLoss([{ loss: 4, value: 0.1 }, { loss: 3, value: 0.2 }])));
  assert.ok(Math.abs(atHalfLoss([{ loss: 2, value: 0 }, { loss: 1, value: 1 }]) - 1) < 1e-12);
});

test('per-sample-normalised AP: a sample with a large loss no longer dominates', () => {
  const rows = [Float64Array.from([10, 0, 0]), Float64Array.from([0, 1, 1])];
  assert.equal(meanAP(rows), [5, 0.5, 0.5]);
  assert.equal(normalisedAP(rows), [0.5, 0.25, 0.25]);
  assert.equal(normalisedAP([Float64Array.from([0, 0])]), [0, 0]);
});

test('checkers: exact, last-number (GSM8K style) and regex', () => {
  const answers = new Map([['q1', 'so 3 + 4 = 7\n#### 7'], ['q2', 'the answer is 1,234'], ['q3', 'Answer: (B) because']]);
  const exact = makeChecker('exact', answers, 'f');
  assert.ok(exact('q1', 'so 3 + 4 = 7\n#### 7') && !exact('q1', '#### 7'));
  const num = makeChecker('last-number', answers, 'f');
  assert.ok(num('q1', 'I think it is 7.') && num('q1', '#### 7.0') && !num('q1', '7 apples, then 8'));
  assert.ok(num('q2', 'total: 1234') && num('q2', '1,234') && !num('q2', 'no idea'));
  const re = makeChecker('regex:\\(([A-D])\\)', answers, 'f');
  assert.ok(re('q3', 'I pick (B).') && !re('q3', 'I pick (C).') && !re('q3', 'B'));
  assert.is(lastNumber('−5 or -5.5'), -5.5);
  assert.is(lastNumber('none'), undefined);
  assert.throws(() => exact('unknown', 'x'), /no reference answer/);
});

test('format samples: the template, no task of the experiment, seeded', () => {
  const s = formatSamples(10, 3);
  assert.is(s.length, 10 * FORMAT_TASKS.length);
  const names = new Set(TASKS.map((t) => t.name));
  for (const x of s) {
    const name = x.prompt.split(': ')[0]!;
    assert.ok(FORMAT_TASKS.includes(name) && !names.has(name), name);
    assert.ok(x.response.length > 0);
  }
  assert.equal(formatSamples(10, 3), s);
  assert.not.equal(formatSamples(10, 4), s);
});

test.run();
