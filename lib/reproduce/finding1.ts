// Finding 1, selective activation: how SFT changes each task's activation pattern. Per task:
// AP before and after SFT, their Gini and CV (the paper reports both fall: activation spreads
// over more heads); across tasks: the Pearson correlation matrix of the ΔAPs, summarised by
// whether complex tasks correlate more with their own constituents than with other basic tasks.
import { cv, gini, pearson } from '../patterns/metrics.js';
import type { Context } from './context.js';
import { mean } from './stats.js';
import { baseAP, deltaAP, deltaAPShape, finalAP, type TaskRun } from './task-run.js';

export interface TaskActivation {
  task: string;
  kind: string;
  gini: { before: number; after: number };
  cv: { before: number; after: number };
  accuracy: { before: number; after: number };
  loss: { before: number; after: number };
  /** The AP [layers*heads] of the base model and after SFT, on the task's probe samples. */
  ap: { before: number[]; after: number[] };
}

export interface Finding1 {
  tasks: TaskActivation[];
  meanGini: { before: number; after: number };
  meanCv: { before: number; after: number };
  /** Tasks whose Gini (CV) fell with SFT. */
  giniFell: number;
  cvFell: number;
  correlation: { labels: string[]; matrix: number[][] };
  /** Mean ΔAP correlation of complex tasks with their constituents, and with the other basic tasks. */
  constituentCorrelation: number;
  otherBasicCorrelation: number;
  /** The same two means on scale-free ΔAP (task-run.ts deltaAPShape): a robustness check. */
  shape: { constituentCorrelation: number; otherBasicCorrelation: number };
}

export function finding1(ctx: Context, runs: Map<string, TaskRun>): Finding1 {
  const tasks = ctx.suite.tasks.map((t): TaskActivation => {
    const run = runs.get(t.name)!;
    const [b, a] = [baseAP(run), finalAP(run)];
    return {
      task: t.name,
      kind: t.kind,
      gini: { before: gini(b), after: gini(a) },
      cv: { before: cv(b), after: cv(a) },
      accuracy: { before: run.before.accuracy, after: run.after.accuracy },
      loss: { before: run.before.loss, after: run.after.loss },
      ap: { before: b, after: a },
    };
  });
  const labels = ctx.suite.tasks.map((t) => t.name);
  const basics = ctx.suite.tasks.filter((t) => t.kind === 'basic').map((t) => t.name);
  const composed = ctx.suite.tasks.filter((x) => x.kind === 'complex' && x.constituents.length > 0);
  const correlations = (delta: (run: TaskRun) => number[]) => {
    const deltas = labels.map((n) => delta(runs.get(n)!));
    const matrix = deltas.map((x) => deltas.map((y) => pearson(x, y)));
    const corr = (a: string, b: string) => matrix[labels.indexOf(a)]![labels.indexOf(b)]!;
    const own: number[] = [];
    const other: number[] = [];
    for (const t of composed) for (const b of basics) (t.constituents.includes(b) ? own : other).push(corr(t.name, b));
    return { matrix, constituentCorrelation: own.length ? mean(own) : NaN, otherBasicCorrelation: other.length ? mean(other) : NaN };
  };
  const plain = correlations(deltaAP);
  const shape = correlations(deltaAPShape);
  return {
    tasks,
    meanGini: { before: mean(tasks.map((t) => t.gini.before)), after: mean(tasks.map((t) => t.gini.after)) },
    meanCv: { before: mean(tasks.map((t) => t.cv.before)), after: mean(tasks.map((t) => t.cv.after)) },
    giniFell: tasks.filter((t) => t.gini.after < t.gini.before).length,
    cvFell: tasks.filter((t) => t.cv.after < t.cv.before).length,
    correlation: { labels, matrix: plain.matrix },
    constituentCorrelation: plain.constituentCorrelation,
    otherBasicCorrelation: plain.otherBasicCorrelation,
    shape: { constituentCorrelation: shape.constituentCorrelation, otherBasicCorrelation: shape.otherBasicCorrelation },
  };
}
