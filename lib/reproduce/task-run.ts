// One SFT run on one task from the base model, watched along the way: the activation pattern on
// the task's probe set every few steps (with the relative weight change ‖θ_t − θ_0‖/‖θ_0‖), and
// loss and exact-match accuracy on the test set before and after. Findings 1 and 3 and the
// application all read these runs.
import type { SftHistory } from '../sft.js';
import { fineTune, withModel, type Context } from './context.js';
import { take, type TaskData } from './suite.js';

export interface Snapshot {
  step: number;
  ap: number[]; // [layers*heads]
  weightChange: number;
}

export interface TaskRun {
  task: string;
  samples: number;
  steps: number;
  snapshots: Snapshot[];
  before: { loss: number; accuracy: number };
  after: { loss: number; accuracy: number };
}

export function baseAP(run: TaskRun): number[] {
  return run.snapshots[0]!.ap;
}

export function finalAP(run: TaskRun): number[] {
  return run.snapshots[run.snapshots.length - 1]!.ap;
}

/** ΔAP = AP after SFT − AP of the base model, on the same probe data. */
export function deltaAP(run: TaskRun): number[] {
  const b = baseAP(run);
  return finalAP(run).map((v, i) => v - b[i]!);
}

/**
 * Scale-free ΔAP: each AP divided by its own mean first. The AP scales with the loss, and SFT
 * here drives the loss close to 0, so AP_after ≪ AP_base and the plain ΔAP is mostly −AP_base;
 * this variant compares where activation sits, not how large it is.
 */
export function deltaAPShape(run: TaskRun): number[] {
  const unit = (a: number[]): number[] => {
    const m = a.reduce((x, y) => x + y, 0) / a.length;
    return a.map((v) => v / m);
  };
  const b = unit(baseAP(run));
  return unit(finalAP(run)).map((v, i) => v - b[i]!);
}

export async function runTask(ctx: Context, task: TaskData, samples: number, seed: number): Promise<TaskRun> {
  const data = take(task, samples);
  const { steps } = ctx.plan.sft;
  const history = await withModel(ctx, (model) =>
    fineTune(ctx, model, data, {
      seed,
      eval: { data: task.test, every: steps, check: task.check },
      snapshots: { probe: task.probe, every: ctx.plan.snapshotEvery },
    }),
  );
  const [before, after] = [history.evals[0]!, history.evals[history.evals.length - 1]!];
  return {
    task: task.name,
    samples: data.length,
    steps,
    snapshots: history.snapshots.map((s) => ({ step: s.step, ap: Array.from(s.pattern.values), weightChange: s.weightChange })),
    before: evalOf(before),
    after: evalOf(after),
  };
}

function evalOf(e: SftHistory['evals'][number]): { loss: number; accuracy: number } {
  return { loss: e.loss, accuracy: e.accuracy ?? NaN };
}
