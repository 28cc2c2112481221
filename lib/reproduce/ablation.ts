// The causal check of finding 1 (beyond the paper): one model fine-tuned on all tasks together,
// then for each task A its top-k AP heads gated off (ξ = 0), and exact-match accuracy measured
// on every task. If SFT activates task-specific heads, A's own accuracy drops more than the
// other tasks' do, and more than when k random heads are gated off.
import type { GPT } from '../model.js';
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

export async function ablation(ctx: Context): Promise<Ablation> {
  const { k, draws, steps, testSamples } = ctx.plan.ablation;
  const tasks = ctx.suite.tasks;
  const mixed = tasks.flatMap((t) => take(t, ctx.plan.sft.samples));
  const nHeads = ctx.config.layers * ctx.config.heads;
  const rng = new Rng(ctx.plan.seed + 7);
  const randomHeads = Array.from({ length: draws }, () => rng.sample(nHeads, k));

  return withModel(ctx, async (model) => {
    ctx.log(`ablation: multi-task SFT on ${mixed.length} samples of ${tasks.length} tasks, ${steps} steps`);
    await fineTune(ctx, model, mixed, { seed: ctx.plan.seed + 3, steps });
    const accuracies = (off: number[]) => accuracyPerTask(model, ctx, tasks, off, testSamples);
    const baseline = await accuracies([]);
    const top: number[][] = [];
    for (const t of tasks) {
      const ap = await activationPattern(model, t.probe, { tokenizer: ctx.tokenizer });
      top.push(topK(ap.values, k));
    }
    const accuracy: number[][] = [];
    for (const [i, t] of tasks.entries()) {
      ctx.log(`ablation: top-${k} heads of ${t.name} off (${i + 1}/${tasks.length})`);
      accuracy.push(await accuracies(top[i]!));
    }
    const random: number[][] = [];
    for (const heads of randomHeads) random.push(await accuracies(heads));

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
  });
}

function accuracyPerTask(model: GPT, ctx: Context, tasks: TaskData[], off: number[], n: number): Promise<number[]> {
  return withHeadsOff(model, off, async () => {
    const out: number[] = [];
    for (const t of tasks) out.push(await exactMatchAccuracy(model, t.test.slice(0, n), { tokenizer: ctx.tokenizer, check: t.check }));
    return out;
  });
}
