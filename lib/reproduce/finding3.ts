// Finding 3, a few parameters and a few samples. Along each SFT run (every task and seed): how
// far the AP's change has turned towards its final direction, cos(AP_t − AP_0, AP_T − AP_0),
// a scale-free measure that does not simply track the falling loss (a Euclidean distance
// does), against how far the weights have gone, ‖θ_t − θ_0‖ / ‖θ_T − θ_0‖. The paper's claim
// is that the pattern moves early and sharply while the weights barely move; summarised per
// run at the first snapshot at or after a quarter of the steps, and per task over seeds. And
// for the complex tasks at several sample budgets, all trained for the same number of epochs
// (so a small budget is not simply trained for more passes): the direction of each budget's
// ΔAP against the largest budget's, the scale-free shift of the AP, the loss and the accuracy.
// Beside the probe snapshots, every run's training-batch trace (AP telemetry, every step, no
// extra pass): how closely it tracks the snapshots at the same weights, so a reader can see
// whether the free trace could stand in for probe passes. No verdict reads the trace.
import { cosine, pearson } from '../patterns/metrics.js';
import { meanCI, median, type Interval } from './stats.js';
import type { Baseline, TaskRun } from './task-run.js';

export interface TrajectoryPoint {
  step: number;
  weightChange: number;
  loss: number;
  /** cos(AP_t − AP_0, AP_T − AP_0); 0 at step 0. */
  cosWithFinal: number;
  /** Pearson(AP_t, AP_T). */
  corrWithFinal: number;
}

/**
 * The training-batch trace of a run against its probe snapshots, at the snapshot steps the trace
 * has (every snapshot but the last, at `steps`, which follows the last update): the same θ_t.
 */
export interface TraceAgreement {
  /** The shared steps. */
  steps: number[];
  /** Mean over the shared steps of Pearson(trace AP_t, probe AP_t) over heads. */
  patternCorr: number;
  /**
   * Pearson, over the shared steps after the first, of the direction progress
   * cos(AP_t − AP_0, AP_last − AP_0) computed from the trace and from the snapshots, each on its
   * own, with last = the last shared step; NaN with fewer than four shared steps.
   */
  progressCorr: number;
  /** Finding 3's early measure from the trace alone: cos(AP_q − AP_0, AP_end − AP_0) at the quarter step q, end = the trace's last step (steps − 1). */
  earlyProgress: number;
  /** That progress at every step of the trace. */
  progress: { step: number; cosWithFinal: number }[];
}

export interface Trajectory {
  task: string;
  seed: number;
  samples: number;
  steps: number;
  points: TrajectoryPoint[];
  /** At the first snapshot at or after steps/4: AP direction progress and weight progress (fraction of the final change). */
  early: { step: number; apProgress: number; weightFraction: number };
  trace: TraceAgreement;
}

export interface TaskTrajectory {
  task: string;
  apProgress: Interval;
  weightFraction: Interval;
  /** apProgress − weightFraction over seeds. */
  lead: Interval;
  /** The training-batch trace against the probe snapshots, over seeds (TraceAgreement). */
  trace: { patternCorr: Interval; progressCorr: Interval; earlyProgress: Interval };
}

export interface BudgetRow {
  task: string;
  samples: number;
  steps: number;
  /** cos(ΔAP of this budget, ΔAP of the largest budget), same seed. */
  cosWithLargest: Interval;
  /** 1 − Pearson(AP_final, AP_base): a scale-free shift of the pattern. */
  shift: Interval;
  loss: Interval;
  accuracy: Interval;
}

export interface Finding3 {
  trajectories: Trajectory[];
  perTask: TaskTrajectory[];
  medianApProgress: number;
  medianWeightFraction: number;
  /** Median over runs of the final ‖θ − θ_0‖/‖θ_0‖. */
  medianFinalWeightChange: number;
  /** Median over runs of the trace's pattern correlation with the probe snapshots. */
  medianTracePatternCorr: number;
  budgets: BudgetRow[];
}

export function trajectory(run: TaskRun): Trajectory {
  const s = run.snapshots;
  const a0 = s[0]!.ap;
  const aT = s[s.length - 1]!.ap;
  const dT = aT.map((v, i) => v - a0[i]!);
  const points = s.map((p, k) => ({
    step: p.step, weightChange: p.weightChange, loss: p.loss,
    cosWithFinal: k === 0 ? 0 : cosine(p.ap.map((v, i) => v - a0[i]!), dT),
    corrWithFinal: pearson(p.ap, aT),
  }));
  const q = points.find((p) => p.step >= run.steps / 4)!;
  const finalWeight = points[points.length - 1]!.weightChange;
  return {
    task: run.task, seed: run.seed, samples: run.samples, steps: run.steps, points,
    early: { step: q.step, apProgress: q.cosWithFinal, weightFraction: finalWeight > 0 ? q.weightChange / finalWeight : NaN },
    trace: traceAgreement(run, q.step),
  };
}

/** cos(AP_t − AP_0, AP_last − AP_0) along a sequence of APs (0 at the first). */
function progressAlong(aps: readonly number[][]): number[] {
  const a0 = aps[0]!;
  const d = aps[aps.length - 1]!.map((v, i) => v - a0[i]!);
  return aps.map((a, k) => (k === 0 ? 0 : cosine(a.map((v, i) => v - a0[i]!), d)));
}

// pearson and mean that give NaN, rather than throwing, when a value is not finite (a cosine
// with a zero change) or there are too few values
function safePearson(a: number[], b: number[]): number {
  return a.length >= 2 && [...a, ...b].every(Number.isFinite) ? pearson(a, b) : NaN;
}

function traceAgreement(run: TaskRun, quarter: number): TraceAgreement {
  const at = new Map(run.trace.map((p) => [p.step, p.ap]));
  const shared = run.snapshots.filter((p) => at.has(p.step));
  const trace = shared.map((p) => at.get(p.step)!);
  const probe = shared.map((p) => p.ap);
  const corrs = shared.map((_, k) => safePearson(trace[k]!, probe[k]!));
  const all = progressAlong(run.trace.map((p) => p.ap));
  const k = run.trace.findIndex((p) => p.step === quarter);
  return {
    steps: shared.map((p) => p.step),
    patternCorr: corrs.length ? corrs.reduce((a, b) => a + b, 0) / corrs.length : NaN,
    // at least three points after the first (the last is 1 on both sides, so two would give ±1 whatever the curves)
    progressCorr: shared.length >= 4 ? safePearson(progressAlong(trace).slice(1), progressAlong(probe).slice(1)) : NaN,
    earlyProgress: k > 0 ? all[k]! : NaN,
    progress: run.trace.map((p, i) => ({ step: p.step, cosWithFinal: all[i]! })),
  };
}

/** runs: finding 1's runs (task -> one per seed); budgetRuns: complex task -> budget -> one run per seed (ascending budgets). */
export function finding3(runs: Map<string, TaskRun[]>, bases: Map<string, Baseline>, budgetRuns: Map<string, TaskRun[][]>): Finding3 {
  const trajectories = [...runs.values()].flat().map(trajectory);
  const perTask = [...runs.keys()].map((task) => {
    const ts = trajectories.filter((t) => t.task === task);
    return {
      task,
      apProgress: meanCI(ts.map((t) => t.early.apProgress)),
      weightFraction: meanCI(ts.map((t) => t.early.weightFraction)),
      lead: meanCI(ts.map((t) => t.early.apProgress - t.early.weightFraction)),
      trace: {
        patternCorr: meanCI(ts.map((t) => t.trace.patternCorr)),
        progressCorr: meanCI(ts.map((t) => t.trace.progressCorr)),
        earlyProgress: meanCI(ts.map((t) => t.trace.earlyProgress)),
      },
    };
  });
  const budgets: BudgetRow[] = [];
  for (const [task, byBudget] of budgetRuns) {
    const base = bases.get(task)!.base.ap;
    const d = (r: TaskRun) => r.after.ap.map((v, i) => v - base[i]!);
    const largest = byBudget[byBudget.length - 1]!;
    for (const list of byBudget) {
      budgets.push({
        task, samples: list[0]!.samples, steps: list[0]!.steps,
        cosWithLargest: meanCI(list.map((r, s) => cosine(d(r), d(largest[s]!)))),
        shift: meanCI(list.map((r) => 1 - pearson(r.after.ap, base))),
        loss: meanCI(list.map((r) => r.after.loss)),
        accuracy: meanCI(list.map((r) => r.after.accuracy)),
      });
    }
  }
  return {
    trajectories,
    perTask,
    medianApProgress: median(trajectories.map((t) => t.early.apProgress)),
    medianWeightFraction: median(trajectories.map((t) => t.early.weightFraction)),
    medianFinalWeightChange: median(trajectories.map((t) => t.points[t.points.length - 1]!.weightChange)),
    medianTracePatternCorr: median(trajectories.map((t) => t.trace.patternCorr).filter(Number.isFinite)),
    budgets,
  };
}
