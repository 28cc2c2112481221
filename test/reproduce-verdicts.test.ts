// The verdict rules of the reproduction report (lib/reproduce/verdicts.ts) on hand-made results:
// each rule's boundaries (all / more than half / half or fewer / nothing to judge), that an
// interval over seeds which straddles 0 never counts, and that one seed is inconclusive where a
// rule needs a spread. Also the small-sample statistics the rules rest on (lib/reproduce/stats.ts)
// against textbook values.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as judge from '../lib/reproduce/verdicts.js';
import { bootstrapCI, meanCI, pairedTTest, tCdf, tQuantile, type Interval } from '../lib/reproduce/stats.js';
import type { Finding1, TaskActivation } from '../lib/reproduce/finding1.js';
import type { Ablation } from '../lib/reproduce/ablation.js';
import type { Composition } from '../lib/reproduce/finding2.js';
import type { Finding3 } from '../lib/reproduce/finding3.js';
import type { TaskApplication } from '../lib/reproduce/application.js';

const iv = (values: number[]): Interval => meanCI(values);
// five seeds clearly below / above / around 0
const DOWN = [-0.1, -0.12, -0.09, -0.11, -0.1];
const UP = DOWN.map((x) => -x);
const MIXED = [-0.1, 0.1, -0.05, 0.08, 0.01];

function task(gini: number[], cvd: number[], matched = gini): TaskActivation {
  const change = (d: number[]) => ({ before: 0.5, beforeCI: [0.45, 0.55] as [number, number], after: iv(d.map((x) => 0.5 + x)), delta: iv(d) });
  return {
    task: 't', kind: 'basic', baseLoss: { shipped: 6, fair: 2 },
    gini: change(gini), cv: change(cvd), normalised: { gini: change(gini), cv: change(cvd) },
    matched: { gini: iv(matched), cv: iv(matched), reached: matched.length },
    accuracy: { before: 0, after: iv([1]) }, loss: { before: 2, after: iv([1]) },
    ap: { before: [], after: [] }, curve: [],
  } as unknown as TaskActivation;
}

function finding1(tasks: TaskActivation[], gap = 0.1, p = 0.01): Finding1 {
  return {
    tasks, meanGini: { before: 0.5, after: 0.4 }, meanCv: { before: 1, after: 0.9 },
    specificity: { constituent: 0.5 + gap, other: 0.5, gap, pValue: p, permutations: 1000, perSeed: iv([gap, gap]) },
  } as unknown as Finding1;
}

test('spread: counts a task only when both intervals lie below 0', () => {
  assert.is(judge.judgeSpread(finding1([task(DOWN, DOWN), task(DOWN, DOWN)])).verdict, 'agrees');
  assert.is(judge.judgeSpread(finding1([task(DOWN, DOWN), task(DOWN, DOWN), task(DOWN, MIXED)])).verdict, 'partly agrees');
  assert.is(judge.judgeSpread(finding1([task(DOWN, DOWN), task(UP, UP)])).verdict, 'disagrees');
  // a mean below 0 whose interval straddles 0 does not count
  assert.is(judge.judgeSpread(finding1([task(MIXED.map((x) => x - 0.01), DOWN)])).verdict, 'disagrees');
  // one seed: no spread to judge by
  assert.is(judge.judgeSpread(finding1([task([-0.5], [-0.5])])).verdict, 'inconclusive');
});

test('spread at matched loss: tasks that never halve their loss are left out', () => {
  const never = task(DOWN, DOWN, [NaN, NaN, NaN, NaN, NaN]);
  assert.is(judge.judgeSpreadMatched(finding1([task(DOWN, DOWN, DOWN), never])).verdict, 'agrees');
  assert.is(judge.judgeSpreadMatched(finding1([task(DOWN, DOWN, UP), task(DOWN, DOWN, UP)])).verdict, 'disagrees');
  assert.is(judge.judgeSpreadMatched(finding1([never])).verdict, 'inconclusive');
});

test('task specificity: a positive gap needs p < 0.05 against the relabelling null', () => {
  assert.is(judge.judgeTaskSpecific(finding1([], 0.1, 0.01)).verdict, 'agrees');
  assert.is(judge.judgeTaskSpecific(finding1([], 0.1, 0.2)).verdict, 'disagrees');
  assert.is(judge.judgeTaskSpecific(finding1([], -0.1, 0.01)).verdict, 'disagrees');
  assert.is(judge.judgeTaskSpecific(finding1([], NaN, NaN)).verdict, 'inconclusive');
});

test('ablation: no task accurate enough to drop -> inconclusive; both conditions must hold', () => {
  const a = (evaluable: number, others: number, random: number) =>
    judge.judgeAblation({ k: 4, tasks: [], accuracy: [], randomHeads: [], multitaskSteps: 1, evaluable, ownMoreThanOthers: others, ownMoreThanRandom: random } as Ablation).verdict;
  assert.is(a(0, 0, 0), 'inconclusive');
  assert.is(a(3, 3, 3), 'agrees');
  assert.is(a(3, 3, 2), 'partly agrees');
  assert.is(a(4, 4, 2), 'disagrees');
});

function composition(pValues: number[], r2 = 0.9): Composition {
  return {
    task: 'x', constituents: ['a', 'b'], coefficients: {}, ranking: ['a', 'b', 'c'], constituentsOnTop: true, topIsConstituent: true,
    r2: iv([r2, r2]), pValues: [0.001, 0.001], nullR2: 0.2, baseOnly: 0.9, ownBase: iv([0.95, 0.95]), controls: null,
    incremental: { r2: iv([0.01, 0.02]), pValues }, r2WithoutConstituents: iv([0.5, 0.5]),
  } as unknown as Composition;
}

test('composition: judged on the incremental R² beyond −AP_base in a majority of seeds, not on plain R²', () => {
  assert.is(judge.judgeComposition([composition([0.01, 0.02, 0.2]), composition([0.001, 0.001, 0.001])]).verdict, 'agrees');
  // plain R² of 0.99 with an incremental p of 0.3: the fit is −AP_base, not composition
  assert.is(judge.judgeComposition([composition([0.3, 0.3, 0.01], 0.99), composition([0.3, 0.4, 0.5], 0.99)]).verdict, 'disagrees');
  assert.is(judge.judgeComposition([composition([0.01, 0.01]), composition([0.01, 0.01]), composition([0.01, 0.5])]).verdict, 'partly agrees');
  // half the seeds is not a majority; NaN never counts
  assert.is(judge.judgeComposition([composition([0.01, 0.5])]).verdict, 'disagrees');
  assert.is(judge.majoritySignificant([NaN, NaN, 0.01]), false);
});

test('constituents: counted on the coefficient ranking', () => {
  const c = (onTop: boolean) => ({ ...composition([0.01]), constituentsOnTop: onTop }) as Composition;
  assert.is(judge.judgeConstituents([c(true), c(true)]).verdict, 'agrees');
  assert.is(judge.judgeConstituents([c(true), c(false)]).verdict, 'disagrees');
  assert.is(judge.judgeConstituents([{ ...c(true), constituents: [] } as Composition]).verdict, 'inconclusive');
  // a task without known constituents is left out of the count, not counted against
  assert.is(judge.judgeConstituents([c(true), { ...c(false), constituents: [] } as Composition]).verdict, 'agrees');
});

test('early shift: the AP-minus-weights lead must be above 0 over seeds', () => {
  const f3 = (leads: number[][]): Finding3 => ({
    trajectories: [], budgets: [], medianApProgress: 0.9, medianWeightFraction: 0.5, medianFinalWeightChange: 0.1,
    perTask: leads.map((l, i) => ({ task: `t${i}`, lead: iv(l), apProgress: iv(l), weightFraction: iv(l) })),
  }) as unknown as Finding3;
  assert.is(judge.judgeEarlyShift(f3([UP, UP])).verdict, 'agrees');
  assert.is(judge.judgeEarlyShift(f3([UP, UP, MIXED])).verdict, 'partly agrees');
  assert.is(judge.judgeEarlyShift(f3([UP, DOWN])).verdict, 'disagrees');
  assert.is(judge.judgeEarlyShift(f3([[0.5], [0.5]])).verdict, 'inconclusive');
});

test('boundaries: p = 0.05 and a zero gap do not agree; constituents on top for 2 of 3 is partly; evidence counts', () => {
  assert.is(judge.judgeTaskSpecific(finding1([], 0.1, 0.05)).verdict, 'disagrees'); // p < 0.05 is strict
  assert.is(judge.judgeTaskSpecific(finding1([], 0, 0.001)).verdict, 'disagrees'); // the gap must be positive
  assert.match(judge.judgeTaskSpecific(finding1([], 0.1, 0.01)).evidence, /gap 0\.1, p = 0\.01/);
  const c = (onTop: boolean) => ({ ...composition([0.01]), constituentsOnTop: onTop }) as Composition;
  const three = judge.judgeConstituents([c(true), c(false), c(true)]);
  assert.is(three.verdict, 'partly agrees');
  assert.match(three.evidence, /constituents on top for 2 of 3/);
  const f3 = (leads: number[][]): Finding3 => ({
    trajectories: [], budgets: [], medianApProgress: 0.9, medianWeightFraction: 0.5, medianFinalWeightChange: 0.1,
    perTask: leads.map((l, i) => ({ task: `t${i}`, lead: iv(l), apProgress: iv(l), weightFraction: iv(l) })),
  }) as unknown as Finding3;
  // one task with a single seed makes the whole rule inconclusive, however clear the others are
  assert.is(judge.judgeEarlyShift(f3([UP, UP, [0.5]])).verdict, 'inconclusive');
  assert.match(judge.judgeEarlyShift(f3([UP, DOWN])).evidence, /ahead on 1 of 2 tasks/);
});

function app(accs: Record<string, number[]>): TaskApplication {
  const arms = Object.entries(accs).map(([arm, a]) => ({ arm, accuracies: a, mean: a.reduce((x, y) => x + y, 0) / a.length, std: 0 }));
  const tests = Object.fromEntries(Object.keys(accs).filter((k) => k !== 'pattern-mix').map((k) => [k, pairedTTest(accs['pattern-mix']!, accs[k]!)]));
  return { task: 'x', budget: 64, baseAccuracy: 0, alpha: {}, mix: {}, heads: [], arms, tests } as unknown as TaskApplication;
}

test('application: paired tests over seeds; a higher mean without significance does not count', () => {
  const zero = [0, 0, 0, 0, 0];
  const all = (p: number[], o: number[]) => ({ 'sft-only': o, 'format-only': o, 'uniform-mix': o, 'random-mix': o, 'pattern-mix': p, heads: zero });
  const good = all([0.3, 0.32, 0.31, 0.35, 0.3], [0.1, 0.12, 0.1, 0.11, 0.09]);
  const noisy = all([0.5, 0.0, 0.4, 0.0, 0.3], [0.1, 0.2, 0.1, 0.2, 0.1]); // higher mean, p > 0.05
  assert.is(judge.judgeApplication([app(all(zero, zero))]).verdict, 'inconclusive');
  assert.is(judge.judgeApplication([app(good), app(good)]).verdict, 'agrees');
  assert.is(judge.judgeApplication([app(good), app(noisy)]).verdict, 'disagrees');
  assert.is(judge.judgeApplication([app(good), app(good), app(noisy)]).verdict, 'partly agrees');
  assert.is(judge.judgeMixSource([app(good)]).verdict, 'agrees');
  assert.is(judge.judgeMixSource([app({ ...good, 'uniform-mix': good['pattern-mix'] })]).verdict, 'disagrees');
});

test('statistics: Student t against tables, paired t-test, intervals, bootstrap', () => {
  const near = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);
  near(tQuantile(0.975, 1), 12.7062);
  near(tQuantile(0.975, 4), 2.7764);
  near(tQuantile(0.95, 10), 1.8125);
  near(tQuantile(0.975, 1000), 1.9623);
  near(tCdf(0, 3), 0.5, 1e-12);
  near(tCdf(2.0, 5), 0.94903);
  near(tCdf(-1.5, 3), 1 - 0.88471);
  const p = pairedTTest([1, 2, 3, 4], [0, 0, 0, 0]); // t = 2.5 / (1.291/2) = 3.873, df 3
  near(p.t, 3.87298);
  near(p.pValue, 0.015233);
  assert.is(pairedTTest([1, 1], [0, 0]).pValue, 0);
  assert.is(pairedTTest([0, 0], [1, 1]).pValue, 1);
  assert.ok(Number.isNaN(pairedTTest([1], [0]).pValue));
  const m = meanCI([1, 2, 3, 4, 5]); // 3 ± 2.7764 · 1.5811/√5
  near(m.lo, 3 - 2.7764 * Math.sqrt(2.5 / 5));
  assert.ok(Number.isNaN(meanCI([1]).lo));
  // the bootstrap interval of a mean covers the sample mean and shrinks with more samples
  const rows = (n: number) => Array.from({ length: n }, (_, i) => [i % 7]);
  const stat = (r: readonly (readonly number[])[]) => r.reduce((s, x) => s + x[0]!, 0) / r.length;
  const [lo, hi] = bootstrapCI(rows(50), stat, 400, 1);
  const [lo2, hi2] = bootstrapCI(rows(800), stat, 400, 1);
  assert.ok(lo < stat(rows(50)) && stat(rows(50)) < hi);
  assert.ok(hi2 - lo2 < (hi - lo) / 2);
});

test.run();
