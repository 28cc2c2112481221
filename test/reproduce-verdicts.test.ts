// The verdict rules of the reproduction report (lib/reproduce/verdicts.ts) on hand-made results:
// each rule's boundaries (all / more than half / half or fewer / nothing to judge).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { judgeAblation, judgeApplication, judgeComposition, judgeConstituents, judgeEarlyShift, judgeSpread, judgeTaskSpecific } from '../lib/reproduce/verdicts.js';
import type { Finding3, Trajectory } from '../lib/reproduce/finding3.js';
import type { Finding1, TaskActivation } from '../lib/reproduce/finding1.js';
import type { Ablation } from '../lib/reproduce/ablation.js';
import type { Composition } from '../lib/reproduce/finding2.js';
import type { TaskApplication } from '../lib/reproduce/application.js';

function finding1(falls: boolean[]): Finding1 {
  const tasks = falls.map((fell, i): TaskActivation => ({
    task: `t${i}`, kind: 'basic',
    gini: { before: 0.5, after: fell ? 0.4 : 0.6 }, cv: { before: 1, after: fell ? 0.8 : 1.2 },
    accuracy: { before: 0, after: 1 }, loss: { before: 2, after: 1 }, ap: { before: [], after: [] },
  }));
  return { tasks, meanGini: { before: 0.5, after: 0.5 }, meanCv: { before: 1, after: 1 }, giniFell: 0, cvFell: 0, correlation: { labels: [], matrix: [] }, constituentCorrelation: 0, otherBasicCorrelation: 0 };
}

test('spread: all tasks -> agrees, more than half -> partly, half -> disagrees', () => {
  assert.is(judgeSpread(finding1([true, true, true, true])).verdict, 'agrees');
  assert.is(judgeSpread(finding1([true, true, true, false])).verdict, 'partly agrees');
  assert.is(judgeSpread(finding1([true, true, false, false])).verdict, 'disagrees');
});

test('ablation: no task accurate enough to drop -> inconclusive; both conditions must hold', () => {
  const a = (evaluable: number, others: number, random: number) =>
    judgeAblation({ k: 4, tasks: [], accuracy: [], randomHeads: [], multitaskSteps: 1, evaluable, ownMoreThanOthers: others, ownMoreThanRandom: random } as Ablation).verdict;
  assert.is(a(0, 0, 0), 'inconclusive');
  assert.is(a(3, 3, 3), 'agrees');
  assert.is(a(3, 3, 2), 'partly agrees');
  assert.is(a(4, 4, 2), 'disagrees');
});

test('composition: judged on the permutation p-value, not on closeness to the paper', () => {
  const c = (p: number, r2: number): Composition => ({
    task: 'x', constituents: ['a'], coefficients: {}, r2, pValue: p, nullR2: 0.2, ranking: [], constituentsOnTop: false, topIsConstituent: false, r2WithoutConstituents: 0,
  });
  assert.is(judgeComposition([c(0.001, 0.5), c(0.01, 0.6)]).verdict, 'agrees');
  assert.is(judgeComposition([c(0.001, 0.99), c(0.2, 0.99)]).verdict, 'disagrees');
});

test('application: every arm at 0 -> inconclusive; pattern mix must beat both other mixes', () => {
  const app = (sft: number, random: number, pattern: number): TaskApplication => ({
    task: 'x', budget: 64, baseAccuracy: 0, alpha: {}, mix: {}, heads: [],
    arms: [['sft-only', sft], ['random-mix', random], ['pattern-mix', pattern], ['heads', 0]].map(([arm, mean]) => ({ arm, mean, std: 0, accuracies: [mean] }) as TaskApplication['arms'][number]),
  });
  assert.is(judgeApplication([app(0, 0, 0)]).verdict, 'inconclusive');
  assert.is(judgeApplication([app(0.1, 0.2, 0.3), app(0.1, 0.1, 0.2)]).verdict, 'agrees');
  assert.is(judgeApplication([app(0.1, 0.4, 0.3), app(0.1, 0.1, 0.2)]).verdict, 'disagrees');
  assert.is(judgeApplication([app(0.1, 0.2, 0.3), app(0.1, 0.1, 0.2), app(0.5, 0.1, 0.2)]).verdict, 'partly agrees');
});

test('task-specific: agrees only when constituents correlate strictly more than the other basic tasks', () => {
  const f = (own: number, other: number) => judgeTaskSpecific({ ...finding1([true]), constituentCorrelation: own, otherBasicCorrelation: other });
  assert.is(f(0.6, 0.2).verdict, 'agrees');
  assert.is(f(0.2, 0.6).verdict, 'disagrees');
  assert.is(f(0.3, 0.3).verdict, 'disagrees'); // a tie is not "more"
  assert.is(f(-0.1, -0.4).verdict, 'agrees'); // only the order counts, not the sign
  assert.match(f(0.6, 0.2).evidence, /constituents 0\.6, with other basic tasks 0\.2/);
});

test('constituents: counted over complex tasks with known constituents; on top for all / more than half / half', () => {
  const c = (onTop: boolean, constituents = ['a', 'b']): Composition => ({
    task: 'x', constituents, coefficients: {}, r2: 0.8, pValue: 0.01, nullR2: 0.2, ranking: [], constituentsOnTop: onTop,
    topIsConstituent: onTop, r2WithoutConstituents: 0.5,
  });
  assert.is(judgeConstituents([c(true), c(true), c(true)]).verdict, 'agrees');
  assert.is(judgeConstituents([c(true), c(true), c(false)]).verdict, 'partly agrees');
  assert.is(judgeConstituents([c(true), c(false)]).verdict, 'disagrees');
  // a task without known constituents is left out of the count, not counted against
  assert.is(judgeConstituents([c(true), c(false, [])]).verdict, 'agrees');
  assert.is(judgeConstituents([c(false, [])]).verdict, 'inconclusive');
  assert.match(judgeConstituents([c(true), c(false), c(true)]).evidence, /constituents on top for 2 of 3/);
});

test('early shift: the AP must be further along than the weights at a quarter of the steps, per run', () => {
  const t = (apProgress: number, weightFraction: number): Trajectory => ({
    task: 'x', samples: 16, points: [], early: { step: 4, apProgress, weightFraction }, stepToCorr90: 4,
  });
  const f = (runs: Trajectory[]): Finding3 => ({ trajectories: runs, medianApProgress: 0.5, medianWeightFraction: 0.3, medianFinalWeightChange: 0.01, budgets: [] });
  assert.is(judgeEarlyShift(f([t(0.8, 0.3), t(0.5, 0.4)])).verdict, 'agrees');
  assert.is(judgeEarlyShift(f([t(0.8, 0.3), t(0.5, 0.4), t(0.2, 0.3)])).verdict, 'partly agrees');
  assert.is(judgeEarlyShift(f([t(0.8, 0.3), t(0.3, 0.3)])).verdict, 'disagrees'); // equal is not ahead
  assert.is(judgeEarlyShift(f([])).verdict, 'inconclusive');
  assert.match(judgeEarlyShift(f([t(0.8, 0.3)])).evidence, /ahead on 1 of 1 runs; medians: AP progress 50%, weight change 30%/);
});

test.run();
