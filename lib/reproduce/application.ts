// The application (docs/method.md): learning a complex task from scarce data (plan.application.budget
// samples), four arms with the same total optimizer steps and batch size, several seeds:
//   sft-only     all steps on the complex data
//   random-mix   stage 1 on basic-task data mixed in random proportions, stage 2 on the complex data
//   pattern-mix  stage 1 on basic data with task i in proportion to max(α_i, 0), stage 2 as above
//   heads        all steps on the complex data, training only the top-k heads of the base AP
// Both mixes use the same number of basic samples. α comes from regressing the complex task's
// ΔAP on the basic tasks' ΔAPs (finding 1's runs), where the complex ΔAP is measured with only
// the scarce data itself: AP on those samples before and after a pilot SFT on them. The heads
// arm picks its heads from the base model's AP on the same samples. Nothing here sees the test set.
import type { GPT } from '../model.js';
import type { Sample } from '../data/sample.js';
import { exactMatchAccuracy } from '../evaluate.js';
import { activationPattern } from '../patterns/activation.js';
import { decompose } from '../patterns/decompose.js';
import { topK } from '../patterns/metrics.js';
import { patternFromArray } from '../patterns/pattern.js';
import { Rng } from '../util/random.js';
import { fineTune, tasksOf, withModel, type Context } from './context.js';
import { mean, std } from './stats.js';
import { take, type TaskData } from './suite.js';
import { deltaAP, type TaskRun } from './task-run.js';

export const ARMS = ['sft-only', 'random-mix', 'pattern-mix', 'heads'] as const;
export type Arm = (typeof ARMS)[number];

export interface ArmResult {
  arm: Arm;
  accuracies: number[]; // one per seed
  mean: number;
  std: number;
}

export interface TaskApplication {
  task: string;
  budget: number;
  baseAccuracy: number;
  alpha: Record<string, number>;
  /** Stage-1 proportions of the pattern-guided mix. */
  mix: Record<string, number>;
  heads: number[];
  arms: ArmResult[];
}

export async function application(ctx: Context, runs: Map<string, TaskRun>): Promise<TaskApplication[]> {
  const out: TaskApplication[] = [];
  for (const task of tasksOf(ctx, 'complex')) out.push(await applyTo(ctx, task, runs));
  return out;
}

async function applyTo(ctx: Context, task: TaskData, runs: Map<string, TaskRun>): Promise<TaskApplication> {
  const { budget, seeds } = ctx.plan.application;
  const data = take(task, budget);
  const basics = tasksOf(ctx, 'basic');
  ctx.log(`application: ${task.name}: pilot SFT on its ${data.length} samples for α`);
  const { before, after, baseAccuracy } = await pilot(ctx, task, data);
  const { layers, heads } = ctx.config;
  const delta = patternFromArray(layers, heads, after.map((v, i) => v - before[i]!));
  const bases = Object.fromEntries(basics.map((b) => [b.name, patternFromArray(layers, heads, deltaAP(runs.get(b.name)!))]));
  const alpha = decompose(delta, bases, { method: 'ols', intercept: true, permutations: 1 }).coefficients;
  const mix = proportions(basics.map((b) => Math.max(alpha[b.name]!, 0)));
  const headSet = topK(before, ctx.plan.application.headK);

  const accuracies: Record<Arm, number[]> = { 'sft-only': [], 'random-mix': [], 'pattern-mix': [], heads: [] };
  for (let s = 0; s < seeds; s++) {
    const seed = ctx.plan.seed + 100 * (s + 1);
    // uniform on the simplex (normalised exponentials): a fresh random mix per seed
    const rng = new Rng(seed + 17);
    const randomMix = proportions(basics.map(() => -Math.log(1 - rng.next())));
    for (const arm of ARMS) {
      ctx.log(`application: ${task.name}, seed ${s + 1}/${seeds}, ${arm}`);
      const stage1 = arm === 'pattern-mix' ? basicMix(ctx, basics, mix) : arm === 'random-mix' ? basicMix(ctx, basics, randomMix) : undefined;
      accuracies[arm].push(await trainArm(ctx, task, data, stage1, arm === 'heads' ? headSet : undefined, seed));
    }
  }
  return {
    task: task.name, budget: data.length, baseAccuracy,
    alpha, mix: Object.fromEntries(basics.map((b, i) => [b.name, mix[i]!])), heads: headSet,
    arms: ARMS.map((arm) => ({ arm, accuracies: accuracies[arm], mean: mean(accuracies[arm]), std: std(accuracies[arm]) })),
  };
}

// AP of the base model on the scarce samples, SFT on them, AP again; and the base accuracy.
async function pilot(ctx: Context, task: TaskData, data: Sample[]) {
  return withModel(ctx, async (model) => {
    const ap = async () => Array.from((await activationPattern(model, data, { tokenizer: ctx.tokenizer })).values);
    const baseAccuracy = await exactMatchAccuracy(model, task.test, { tokenizer: ctx.tokenizer, check: task.check });
    const before = await ap();
    await fineTune(ctx, model, data, { seed: ctx.plan.seed + 5 });
    return { before, after: await ap(), baseAccuracy };
  });
}

/** Non-negative weights -> proportions summing to 1 (uniform when all are 0). */
function proportions(w: number[]): number[] {
  const total = w.reduce((a, b) => a + b, 0);
  return total > 0 ? w.map((x) => x / total) : w.map(() => 1 / w.length);
}

/** basicSamples samples, task i contributing round(N·p_i) by largest remainder. */
function basicMix(ctx: Context, basics: TaskData[], p: number[]): Sample[] {
  const n = ctx.plan.application.basicSamples;
  const counts = p.map((x) => Math.floor(x * n));
  const byRemainder = p.map((_, i) => i).sort((a, b) => (p[b]! * n - counts[b]!) - (p[a]! * n - counts[a]!));
  for (let r = n - counts.reduce((a, b) => a + b, 0), j = 0; r > 0; r--, j++) counts[byRemainder[j]!]!++;
  return basics.flatMap((b, i) => take(b, counts[i]!));
}

// Stage 1 (when given) then stage 2 on the complex data; the total is always 2 · stageSteps.
async function trainArm(ctx: Context, task: TaskData, data: Sample[], stage1: Sample[] | undefined, heads: number[] | undefined, seed: number): Promise<number> {
  const { stageSteps, batchSize } = ctx.plan.application;
  return withModel(ctx, async (model: GPT) => {
    if (stage1) {
      await fineTune(ctx, model, stage1, { seed, steps: stageSteps, batchSize });
      await fineTune(ctx, model, data, { seed: seed + 1, steps: stageSteps, batchSize });
    } else if (heads) {
      const mask = new Uint8Array(ctx.config.layers * ctx.config.heads);
      for (const h of heads) mask[h] = 1;
      await fineTune(ctx, model, data, { seed, steps: 2 * stageSteps, batchSize, mode: 'heads', trainableHeads: mask });
    } else {
      await fineTune(ctx, model, data, { seed, steps: 2 * stageSteps, batchSize });
    }
    return exactMatchAccuracy(model, task.test, { tokenizer: ctx.tokenizer, check: task.check });
  });
}
