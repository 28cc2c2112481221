// The experiment's independent runs, each described by plain data: one base-model measurement,
// one SFT run of findings 1 and 3, one pilot or one arm of the application, the ablation's
// multi-task SFT run, and that model's accuracies with one set of heads off. Each starts from a fresh model built from the base
// weights (heads-off: the ablation model's) and shares nothing with the others, so they can run
// in any order and in any process. runJob is the only way a run is executed: by the sequential
// loop in this process and by the worker processes alike (runner.ts, worker.ts), so both give
// the same numbers. A job names its task, never holds it: a task's checker is a function, which
// cannot cross a process boundary, so each process finds the task in its own copy of the suite.
import type { Sample } from '../data/sample.js';
import type { Context } from './context.js';
import { accuracyWithHeadsOff, multitaskModel, type Multitask } from './ablation.js';
import { pilot, trainArm, type Arm, type Pilot } from './application.js';
import { take, type TaskData } from './suite.js';
import { baseline, runTask, type Baseline, type TaskRun } from './task-run.js';

export type Job =
  | { kind: 'baseline'; label: string; task: string }
  | { kind: 'sft'; label: string; task: string; samples: number; seed: number }
  /** The application's pilot SFT on the task's scarce samples (its first plan.application.budget). */
  | { kind: 'pilot'; label: string; task: string }
  /** One application arm on the task's scarce samples; stage1 and heads as trainArm takes them. */
  | { kind: 'arm'; label: string; task: string; arm: Arm; seed: number; stage1: Sample[] | null; heads: number[] | null }
  /** The ablation's multi-task SFT run. */
  | { kind: 'multitask'; label: string }
  /** The ablation's multi-task model (its weights) with the heads `off` gated off, on every task. */
  | { kind: 'heads-off'; label: string; weights: Float32Array; off: number[] };

export type JobKind = Job['kind'];
export type JobOf<K extends JobKind> = Extract<Job, { kind: K }>;

/** What each kind of run returns: plain data, so that it crosses a process boundary unchanged. */
export interface JobResults {
  baseline: Baseline;
  sft: TaskRun;
  pilot: Pilot;
  /** Exact-match accuracy on the task's test set. */
  arm: number;
  multitask: Multitask;
  /** Exact-match accuracy per task of the suite, in its order. */
  'heads-off': number[];
}

export function runJob<K extends JobKind>(ctx: Context, job: JobOf<K>): Promise<JobResults[K]> {
  const j = job as Job;
  const scarce = (task: TaskData) => take(task, ctx.plan.application.budget);
  const run = (): Promise<JobResults[JobKind]> => {
    switch (j.kind) {
      case 'baseline': return baseline(ctx, taskNamed(ctx, j.task));
      case 'sft': return runTask(ctx, taskNamed(ctx, j.task), j.samples, j.seed);
      case 'pilot': return pilot(ctx, scarce(taskNamed(ctx, j.task)));
      case 'arm': {
        const task = taskNamed(ctx, j.task);
        return trainArm(ctx, task, scarce(task), j.stage1 ?? undefined, j.heads ?? undefined, j.seed);
      }
      case 'multitask': return multitaskModel(ctx);
      case 'heads-off': return accuracyWithHeadsOff(ctx, j.weights, j.off);
    }
  };
  return run() as Promise<JobResults[K]>;
}

function taskNamed(ctx: Context, name: string): TaskData {
  const t = ctx.suite.tasks.find((x) => x.name === name);
  if (!t) throw new Error(`reproduce: no task named "${name}" in this process's suite`);
  return t;
}
