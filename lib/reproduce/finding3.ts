// Finding 3, a few parameters and a few samples. Along each SFT run (every task and seed): how
// far the AP's change has turned towards its final direction, cos(AP_t − AP_0, AP_T − AP_0),
// a scale-free measure that does not simply track the falling loss (a Euclidean distance
// does), against how far the weights have gone, ‖θ_t − θ_0‖ / ‖θ_T − θ_0‖. The paper's claim
// is that the pattern moves early and sharply while the weights barely move; summarised per
// run at the first snapshot at or after a quarter of the steps, and per task over seeds. And
// for the complex tasks at several sample budgets, all trained for the same number of epochs
// (so a small budget is not simply trained for more passes): the direction of each budget's
// ΔAP against the largest budget's, the scale-free shift of the AP, the loss and the accuracy.
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

export interface Trajectory {
  task: string;
  seed: number;
  samples: number;
  steps: number;
  points: TrajectoryPoint[];
  /** At the first snapshot at or after steps/4: AP direction progress and weight progress (fraction of the final change). */
  early: { step: number; apProgress: number; weightFraction: number };
}

export interface TaskTrajectory {
  task: string;
  apProgress: Interval;
  weightFraction: Interval;
  /** apProgress − weightFraction over seeds. */
  lead: Interval;
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
    budgets,
  };
}
