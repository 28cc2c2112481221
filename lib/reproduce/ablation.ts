// The causal check of finding 1 (beyond the paper): one model fine-tuned on all tasks together,
// then for each task A its top-k AP heads gated off (ξ = 0), and exact-match accuracy measured
// on every task. If SFT activates task-specific heads, A's own accuracy drops more than the
// other tasks' do, and more than when k random heads are gated off. The training is one run
// (multitaskModel, beside finding 1's runs), the accuracies with each set of heads off are
// independent runs on its weights (jobs.ts).
import { exactMatchAccuracy } from '../evaluate.js';
import { activationPattern } from '../patterns/activation.js';
import { withHeadsOff } from '../patterns/ablation.js';
import { topK } from '../patterns/metrics.js';
import { Rng } from '../util/random.js';
import { fineTune, withModel, type Context } from './context.js';
import { mean } from './stats.js';
import { take, type TaskData } from './suite.js';

/** Tasks whose unablated accuracy is below this cannot show a drop; they are left out of the counts. */
export const MIN_BASELINE = 0.25;

export interface TaskAblation {
  task: string;
  baseline: number;
  heads: number[];
  /** Accuracy drop on this task with its own top-k heads off. */
  ownDrop: number;
  /** Mean drop on the other tasks with this task's top-k heads off. */
  otherDrop: number;
  /** Mean drop on this task with k random heads off (over the draws). */
  randomDrop: number;
  evaluable: boolean;
}

export interface Ablation {
  k: number;
  tasks: TaskAblation[];
  /** accuracy[A][B]: accuracy on task B with task A's top-k heads off. */
  accuracy: number[][];
  randomHeads: number[][];
  evaluable: number;
  ownMoreThanOthers: number;
  ownMoreThanRandom: number;
  multitaskSteps: number;
}

/** The multi-task model: its weights, and each task's top-k AP heads on it (in the suite's order). */
export interface Multitask {
  weights: Float32Array;
  top: number[][];
}

export function multitaskModel(ctx: Context): Promise<Multitask> {
  const { k, steps } = ctx.plan.ablation;
  const tasks = ctx.suite.tasks;
  const mixed = tasks.flatMap((t) => take(t, ctx.plan.sft.samples));
  return withModel(ctx, async (model) => {
    await fineTune(ctx, model, mixed, { seed: ctx.plan.seed + 3, steps });
    const top: number[][] = [];
    for (const t of tasks) {
      const ap = await activationPattern(model, t.probe, { tokenizer: ctx.tokenizer });
      top.push(topK(ap.values, k));
    }
    return { weights: await model.exportParameters(), top };
  });
}

export async function ablation(ctx: Context, { weights, top }: Multitask): Promise<Ablation> {
  const { k, draws, steps } = ctx.plan.ablation;
  const tasks = ctx.suite.tasks;
  const nHeads = ctx.config.layers * ctx.config.heads;
  const rng = new Rng(ctx.plan.seed + 7);
  const randomHeads = Array.from({ length: draws }, () => rng.sample(nHeads, k));
  // [no heads off, each task's top-k, each random draw]: accuracy on every task
  const sets = [[], ...top, ...randomHeads];
  const label = (i: number) => i === 0 ? 'ablation: no heads off'
    : i <= tasks.length ? `ablation: top-${k} heads of ${tasks[i - 1]!.name} off`
      : `ablation: ${k} random heads off (draw ${i - tasks.length}/${draws})`;
  const all = await ctx.runner.all(ctx, 'ablation: accuracy on every task with heads off', sets.map((off, i) => ({ kind: 'heads-off' as const, label: label(i), weights, off })));
  const [baseline, accuracy, random] = [all[0]!, all.slice(1, 1 + tasks.length), all.slice(1 + tasks.length)];
  const rows = tasks.map((t, a): TaskAblation => {
    const drop = (acc: number[], b: number) => baseline[b]! - acc[b]!;
    return {
      task: t.name,
      baseline: baseline[a]!,
      heads: top[a]!,
      ownDrop: drop(accuracy[a]!, a),
      otherDrop: mean(tasks.map((_, b) => b).filter((b) => b !== a).map((b) => drop(accuracy[a]!, b))),
      randomDrop: mean(random.map((acc) => drop(acc, a))),
      evaluable: baseline[a]! >= MIN_BASELINE,
    };
  });
  const ev = rows.filter((r) => r.evaluable);
  return {
    k, tasks: rows, accuracy, randomHeads, multitaskSteps: steps,
    evaluable: ev.length,
    ownMoreThanOthers: ev.filter((r) => r.ownDrop > r.otherDrop).length,
    ownMoreThanRandom: ev.filter((r) => r.ownDrop > r.randomDrop).length,
  };
}

/** Accuracy on every task's first plan.ablation.testSamples test samples, of `weights` with the heads `off` gated off. */
export function accuracyWithHeadsOff(ctx: Context, weights: Float32Array, off: number[]): Promise<number[]> {
  const n = ctx.plan.ablation.testSamples;
  return withModel(ctx, (model) => withHeadsOff(model, off, async () => {
    const out: number[] = [];
    for (const t of ctx.suite.tasks) out.push(await exactMatchAccuracy(model, t.test.slice(0, n), { tokenizer: ctx.tokenizer, check: t.check }));
    return out;
  }), weights);
}
