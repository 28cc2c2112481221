// Finding 3, a few parameters and a few samples: along each SFT run, the AP's correlation with
// the final AP and its mean squared distance from the base AP, against the relative weight
// change ‖θ_t − θ_0‖/‖θ_0‖. The paper's claim is that the pattern moves early and sharply while
// the weights barely move. Summarised per run at the first snapshot at or after a quarter of
// the steps: the fraction of the way from the base AP to the final AP already covered, next to
// the fraction of the final weight change. And per sample budget for the complex tasks: how
// far the pattern moved, and the accuracy reached.
import { pearson } from '../patterns/metrics.js';
import { mean, median } from './stats.js';
import { baseAP, finalAP, type TaskRun } from './task-run.js';

export interface TrajectoryPoint {
  step: number;
  weightChange: number;
  corrWithFinal: number;
  mseFromBase: number;
}

export interface Trajectory {
  task: string;
  samples: number;
  points: TrajectoryPoint[];
  /** At the first snapshot at or after steps/4. */
  early: { step: number; apProgress: number; weightFraction: number };
  /** First step whose AP correlates ≥ 0.9 with the final AP. */
  stepToCorr90: number;
}

export interface BudgetRow {
  task: string;
  samples: number;
  mseFromBase: number;
  /** Correlation of this budget's final AP with the largest budget's. */
  corrWithLargest: number;
  accuracy: number;
  apProgressEarly: number;
}

export interface Finding3 {
  trajectories: Trajectory[];
  medianApProgress: number;
  medianWeightFraction: number;
  /** Median over runs of the final ‖θ − θ_0‖/‖θ_0‖. */
  medianFinalWeightChange: number;
  budgets: BudgetRow[];
}

export function trajectory(run: TaskRun): Trajectory {
  const b = baseAP(run);
  const f = finalAP(run);
  const mse = (x: number[], y: number[]) => mean(x.map((v, i) => (v - y[i]!) ** 2));
  const dist = (x: number[], y: number[]) => Math.sqrt(mse(x, y));
  const total = dist(b, f);
  const points = run.snapshots.map((s) => ({ step: s.step, weightChange: s.weightChange, corrWithFinal: pearson(s.ap, f), mseFromBase: mse(s.ap, b) }));
  const quarter = run.snapshots.find((s) => s.step >= run.steps / 4)!;
  const finalWeight = run.snapshots[run.snapshots.length - 1]!.weightChange;
  return {
    task: run.task,
    samples: run.samples,
    points,
    early: { step: quarter.step, apProgress: 1 - dist(quarter.ap, f) / total, weightFraction: quarter.weightChange / finalWeight },
    stepToCorr90: points.find((p) => p.corrWithFinal >= 0.9)!.step,
  };
}

/** runs: finding 1's runs (every task); budgetRuns: complex task -> one run per budget, ascending. */
export function finding3(runs: TaskRun[], budgetRuns: Map<string, TaskRun[]>): Finding3 {
  const trajectories = runs.map(trajectory);
  const budgets: BudgetRow[] = [];
  for (const [task, list] of budgetRuns) {
    const largest = finalAP(list[list.length - 1]!);
    for (const run of list) {
      const t = trajectory(run);
      budgets.push({
        task, samples: run.samples, mseFromBase: t.points[t.points.length - 1]!.mseFromBase,
        corrWithLargest: pearson(finalAP(run), largest), accuracy: run.after.accuracy, apProgressEarly: t.early.apProgress,
      });
    }
  }
  return {
    trajectories,
    medianApProgress: median(trajectories.map((t) => t.early.apProgress)),
    medianWeightFraction: median(trajectories.map((t) => t.early.weightFraction)),
    medianFinalWeightChange: median(trajectories.map((t) => t.points[t.points.length - 1]!.weightChange)),
    budgets,
  };
}

