// Finding 1, selective activation: how SFT changes each task's activation pattern, over several
// SFT seeds. Per task: Gini and CV of the AP of the base (with bootstrap intervals over probe
// samples) and after SFT (with intervals over seeds), the same for the per-sample-normalised
// AP, and the change at a matched held-out loss (where the loss along the run has halved),
// with the Gini/CV-vs-loss curves behind it. Across tasks: the ΔAP correlation matrix (mean
// over seeds), and whether complex tasks correlate more with their constituents than with the
// other basic tasks, tested against relabelled constituents.
import { cv, gini, pearson } from '../patterns/metrics.js';
import { Rng } from '../util/random.js';
import type { Context } from './context.js';
import { mean, meanCI, type Interval } from './stats.js';
import { deltaAP, deltaAPShape, judgedAP, type Baseline, type TaskRun } from './task-run.js';

export interface Change {
  before: number;
  /** 95% bootstrap interval of `before` over probe samples. */
  beforeCI: [number, number];
  after: Interval;
  delta: Interval;
}

export interface CurvePoint { seed: number; step: number; loss: number; gini: number; cv: number }

export interface TaskActivation {
  task: string;
  kind: string;
  /** Held-out loss (nats per response token) on the probe set: the given model, and the base after the format stage. */
  baseLoss: { given: number; base: number };
  gini: Change;
  cv: Change;
  /** Gini and CV of the per-sample-normalised AP (before: no interval). */
  normalised: { gini: Change; cv: Change };
  /** Change from the base to where the held-out loss has halved (snapshots, interpolated); NaN for seeds that never get there. */
  matched: { gini: Interval; cv: Interval };
  accuracy: { before: number; after: Interval };
  loss: { before: number; after: Interval };
  /** The base AP and the seed-mean AP after SFT [layers*heads], on the probe set. */
  ap: { before: number[]; after: number[] };
  /** Gini and CV of the snapshot APs against their held-out loss, every seed. */
  curve: CurvePoint[];
}

export interface Specificity {
  constituent: number;
  other: number;
  gap: number;
  pValue: number;
  permutations: number;
  perSeed: Interval;
}

export interface Finding1 {
  tasks: TaskActivation[];
  meanGini: { before: number; after: number };
  meanCv: { before: number; after: number };
  /** Mean over seeds of the ΔAP correlation matrices. */
  correlation: { labels: string[]; matrix: number[][] };
  specificity: Specificity;
  /** The same test on scale-free ΔAP (each AP divided by its mean first): reported, not judged. */
  shapeSpecificity: Specificity;
}

/** Change of f from the first snapshot to where the loss first reaches half its starting value (linear interpolation); NaN if never. */
export function atHalfLoss(points: { loss: number; value: number }[]): number {
  const target = points[0]!.loss / 2;
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1]!, points[i]!];
    if (b.loss <= target) {
      const f = a.loss === b.loss ? 1 : (a.loss - target) / (a.loss - b.loss);
      return a.value + f * (b.value - a.value) - points[0]!.value;
    }
  }
  return NaN;
}

function change(before: number, ci: [number, number], after: number[]): Change {
  return { before, beforeCI: ci, after: meanCI(after), delta: meanCI(after.map((a) => a - before)) };
}

export function finding1(ctx: Context, bases: Map<string, Baseline>, runs: Map<string, TaskRun[]>): Finding1 {
  const tasks = ctx.suite.tasks.map((t): TaskActivation => {
    const base = bases.get(t.name)!;
    const list = runs.get(t.name)!;
    const b = judgedAP(ctx, base.base);
    const afters = list.map((r) => judgedAP(ctx, r.after));
    const curve = list.flatMap((r) => r.snapshots.map((s) => ({ seed: r.seed, step: s.step, loss: s.loss, gini: gini(s.ap), cv: cv(s.ap) })));
    const matched = (f: 'gini' | 'cv') => meanCI(list.map((r) => atHalfLoss(curve.filter((c) => c.seed === r.seed).map((c) => ({ loss: c.loss, value: c[f] })))));
    return {
      task: t.name,
      kind: t.kind,
      baseLoss: { given: base.given.loss, base: base.base.loss },
      gini: change(gini(b), base.base.giniCI, afters.map(gini)),
      cv: change(cv(b), base.base.cvCI, afters.map(cv)),
      normalised: {
        gini: change(gini(base.base.apNormalised), [NaN, NaN], list.map((r) => gini(r.after.apNormalised))),
        cv: change(cv(base.base.apNormalised), [NaN, NaN], list.map((r) => cv(r.after.apNormalised))),
      },
      matched: { gini: matched('gini'), cv: matched('cv') },
      accuracy: { before: base.base.accuracy, after: meanCI(list.map((r) => r.after.accuracy)) },
      loss: { before: base.base.loss, after: meanCI(list.map((r) => r.after.loss)) },
      ap: { before: b, after: b.map((_, i) => mean(afters.map((a) => a[i]!))) },
      curve,
    };
  });
  const labels = ctx.suite.tasks.map((t) => t.name);
  const seeds = runs.get(labels[0]!)!.length;
  const matrices = (delta: typeof deltaAP) => Array.from({ length: seeds }, (_, s) => {
    const deltas = labels.map((n) => delta(ctx, bases.get(n)!, runs.get(n)![s]!));
    return deltas.map((x) => deltas.map((y) => pearson(x, y)));
  });
  const plain = matrices(deltaAP);
  const meanMatrix = plain[0]!.map((row, i) => row.map((_, j) => mean(plain.map((m) => m[i]![j]!))));
  return {
    tasks,
    meanGini: { before: mean(tasks.map((t) => t.gini.before)), after: mean(tasks.map((t) => t.gini.after.mean)) },
    meanCv: { before: mean(tasks.map((t) => t.cv.before)), after: mean(tasks.map((t) => t.cv.after.mean)) },
    correlation: { labels, matrix: meanMatrix },
    specificity: specificity(ctx, labels, plain),
    shapeSpecificity: specificity(ctx, labels, matrices(deltaAPShape)),
  };
}

// The constituent-vs-other gap on the seed-mean matrix, against the same gap with each complex
// task's constituents redrawn uniformly from the basic tasks (same number).
function specificity(ctx: Context, labels: string[], perSeed: number[][][]): Specificity {
  const basics = ctx.suite.tasks.filter((t) => t.kind === 'basic').map((t) => t.name);
  const composed = ctx.suite.tasks.filter((x) => x.kind === 'complex' && x.constituents.length > 0 && x.constituents.length < basics.length);
  const permutations = ctx.plan.permutations;
  const idx = (n: string) => labels.indexOf(n);
  const gapOf = (m: number[][], parts: string[][]) => {
    const own: number[] = [];
    const other: number[] = [];
    composed.forEach((t, k) => {
      for (const b of basics) (parts[k]!.includes(b) ? own : other).push(m[idx(t.name)]![idx(b)]!);
    });
    return { own: own.length ? mean(own) : NaN, other: other.length ? mean(other) : NaN };
  };
  const m = perSeed[0]!.map((row, i) => row.map((_, j) => mean(perSeed.map((x) => x[i]![j]!))));
  const real = composed.map((t) => t.constituents);
  const { own, other } = gapOf(m, real);
  const gap = own - other;
  const rng = new Rng(ctx.plan.seed + 23);
  let atLeast = 0;
  for (let p = 0; p < permutations; p++) {
    const drawn = composed.map((t) => rng.sample(basics.length, t.constituents.length).map((i) => basics[i]!));
    const g = gapOf(m, drawn);
    if (g.own - g.other >= gap - 1e-12) atLeast++;
  }
  const seedGaps = perSeed.map((x) => {
    const g = gapOf(x, real);
    return g.own - g.other;
  });
  return {
    constituent: own, other, gap,
    pValue: composed.length && Number.isFinite(gap) ? (1 + atLeast) / (1 + permutations) : NaN,
    permutations, perSeed: meanCI(seedGaps),
  };
}
