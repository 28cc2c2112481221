// One SFT run on one task and seed from the (format-stage) base model, watched along the way:
// every few steps the activation pattern and the held-out loss on the task's first
// trajectorySamples probe samples, with the relative weight change ‖θ_t − θ_0‖/‖θ_0‖; at every
// step the training batch's AP from the training backward's own scores (AP telemetry, no extra
// pass: lib/telemetry/record.ts); at the
// end the per-sample scores on the whole probe set (AP, per-sample-normalised AP, bootstrap
// intervals of Gini and CV) and the accuracy on the test set. The base model's side of the
// same measurements is taken once per task (baseline), since it does not depend on the seed.
// Findings 1-3 and the application all read these runs.
import { exactMatchAccuracy } from '../evaluate.js';
import type { GPT } from '../model.js';
import { fineTune, withModel, type Context } from './context.js';
import { stepsFor } from './plan.js';
import { normalisedAP, meanAP, probe, spreadIntervals } from './probe.js';
import { take, type TaskData } from './suite.js';

export interface Snapshot {
  step: number;
  /** Mean |score| AP on the trajectory probe samples. */
  ap: number[];
  /** Held-out loss on the same samples. */
  loss: number;
  weightChange: number;
}

/** Probe-set measurements of one model on one task. */
export interface ProbeState {
  loss: number;
  accuracy: number;
  /** The paper's AP and the per-sample-normalised AP [layers*heads], on the whole probe set. */
  ap: number[];
  apNormalised: number[];
  /** 95% bootstrap intervals over probe samples, of the AP the plan judges by. */
  giniCI: [number, number];
  cvCI: [number, number];
}

export interface Baseline {
  task: string;
  /** The given (shipped) model, before the format stage: loss on the probe set only. */
  given: { loss: number };
  /** The base of every SFT run (after the format stage). */
  base: ProbeState;
}

/** The training batch's AP at one step (at θ_step, before that step's update), and its loss. */
export interface TracePoint {
  step: number;
  ap: number[];
  loss: number;
}

export interface TaskRun {
  task: string;
  seed: number;
  samples: number;
  steps: number;
  snapshots: Snapshot[];
  /** Every step's training-batch AP (steps 0 … steps − 1). */
  trace: TracePoint[];
  after: ProbeState;
}

/** The AP the plan judges by ('mean' or 'sample'), before and after. */
export function judgedAP(ctx: Context, s: ProbeState): number[] {
  return ctx.plan.apNorm === 'sample' ? s.apNormalised : s.ap;
}

/** ΔAP = AP after SFT − AP of the base model, on the same probe data. */
export function deltaAP(ctx: Context, base: Baseline, run: TaskRun): number[] {
  const b = judgedAP(ctx, base.base);
  return judgedAP(ctx, run.after).map((v, i) => v - b[i]!);
}

/**
 * Scale-free ΔAP: each AP divided by its own mean first. The AP scales with the loss, and SFT
 * drives the loss down, so AP_after ≪ AP_base and the plain ΔAP is mostly −AP_base; this
 * variant compares where activation sits, not how large it is.
 */
export function deltaAPShape(ctx: Context, base: Baseline, run: TaskRun): number[] {
  const unit = (a: number[]): number[] => {
    const m = a.reduce((x, y) => x + y, 0) / a.length;
    return a.map((v) => v / m);
  };
  const b = unit(judgedAP(ctx, base.base));
  return unit(judgedAP(ctx, run.after)).map((v, i) => v - b[i]!);
}

async function measure(ctx: Context, model: GPT, task: TaskData, seed: number): Promise<ProbeState> {
  const p = await probe(model, task.probe, ctx.tokenizer);
  const ci = spreadIntervals(p, ctx.plan.apNorm, ctx.plan.bootstrap, seed);
  const accuracy = await exactMatchAccuracy(model, task.test, { tokenizer: ctx.tokenizer, check: task.check, ...(task.maxNewTokens ? { maxNewTokens: task.maxNewTokens } : {}) });
  return { loss: p.loss, accuracy, ap: meanAP(p.rows), apNormalised: normalisedAP(p.rows), giniCI: ci.gini, cvCI: ci.cv };
}

export async function baseline(ctx: Context, task: TaskData): Promise<Baseline> {
  const given = await withModel(ctx, async (m) => ({ loss: (await probe(m, task.probe, ctx.tokenizer)).loss }), ctx.given);
  const base = await withModel(ctx, (m) => measure(ctx, m, task, ctx.plan.seed));
  return { task: task.name, given, base };
}

export async function runTask(ctx: Context, task: TaskData, samples: number, seed: number): Promise<TaskRun> {
  const data = take(task, samples);
  const steps = stepsFor(ctx.plan, data.length, Math.min(ctx.plan.sft.samples, task.pool.length));
  const every = Math.max(1, Math.round(steps / ctx.plan.snapshots));
  const trajectory = task.probe.slice(0, ctx.plan.trajectorySamples);
  return withModel(ctx, async (model) => {
    const history = await fineTune(ctx, model, data, {
      seed, steps,
      eval: { data: trajectory, every },
      snapshots: { probe: trajectory, every },
      telemetry: { every: 1 },
    });
    const lossAt = new Map(history.evals.map((e) => [e.step, e.loss]));
    return {
      task: task.name, seed, samples: data.length, steps,
      snapshots: history.snapshots.map((s) => ({ step: s.step, ap: Array.from(s.pattern.values), loss: lossAt.get(s.step)!, weightChange: s.weightChange })),
      trace: history.telemetry.map((r) => ({ step: r.step, ap: Array.from(r.ap), loss: r.loss })),
      after: await measure(ctx, model, task, seed),
    };
  });
}
