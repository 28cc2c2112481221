// The application (docs/method.md): learning a complex task from scarce data (plan.application.budget
// samples), six arms with the same total optimizer steps and batch size, several seeds, all
// from the (format-stage) base:
//   sft-only     all steps on the complex data
//   format-only  stage 1 on format samples only (no basic skill), stage 2 on the complex data
//   uniform-mix  stage 1 on basic data in equal parts, stage 2 as above
//   random-mix   stage 1 on basic data in random proportions (a fresh draw per seed)
//   pattern-mix  stage 1 on basic data with task i in proportion to max(α_i, 0)
//   heads        all steps on the complex data, training only the top-k heads of the base AP
// Every stage 1 uses the same number of samples. α comes from regressing the complex task's
// ΔAP on the basic tasks' ΔAPs (finding 1's runs, mean over seeds), where the complex ΔAP is
// measured with only the scarce data itself: AP on those samples before and after a pilot SFT
// on them. The heads arm picks its heads from the base model's AP on the same samples. Nothing
// here sees the test set. Seed s is shared by every arm (batch orders, the random mix), so the
// arms are compared by paired tests over seeds. The pilots and the arms are independent runs
// (jobs.ts): every task's pilot runs first, then every task's arms, all through ctx.runner.
import type { GPT } from '../model.js';
import type { Sample } from '../data/sample.js';
import { exactMatchAccuracy } from '../evaluate.js';
import { activationPattern } from '../patterns/activation.js';
import { decompose } from '../patterns/decompose.js';
import { topK } from '../patterns/metrics.js';
import { patternFromArray } from '../patterns/pattern.js';
import { Rng } from '../util/random.js';
import { fineTune, tasksOf, withModel, type Context } from './context.js';
import { mean, pairedTTest, std } from './stats.js';
import { take, type TaskData } from './suite.js';
import { deltaAP, type Baseline, type TaskRun } from './task-run.js';

export const ARMS = ['sft-only', 'format-only', 'uniform-mix', 'random-mix', 'pattern-mix', 'heads'] as const;
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
  /** One-sided paired t-tests over seeds of pattern-mix against every other arm. */
  tests: Record<string, { meanDiff: number; t: number; pValue: number; n: number }>;
}

export async function application(ctx: Context, bases: Map<string, Baseline>, runs: Map<string, TaskRun[]>): Promise<TaskApplication[]> {
  const { budget, seeds } = ctx.plan.application;
  const tasks = tasksOf(ctx, 'complex');
  const pilots = await ctx.runner.all(ctx, 'application: pilot SFT for α', tasks.map((t) => ({
    kind: 'pilot' as const, task: t.name, label: `application: ${t.name}: pilot SFT on its ${take(t, budget).length} samples for α`,
  })));
  const designs = tasks.map((t, i) => design(ctx, t, pilots[i]!, bases, runs));
  const jobs = designs.flatMap((d) => d.arms.map((a) => ({ kind: 'arm' as const, task: d.task.name, ...a })));
  const accuracies = await ctx.runner.all(ctx, `application: ${ARMS.length} arms × ${seeds} seeds per task`, jobs);
  return designs.map((d, i) => {
    const per = ARMS.length * seeds;
    return outcome(ctx, d, accuracies.slice(i * per, (i + 1) * per), bases);
  });
}

interface Design {
  task: TaskData;
  alpha: Record<string, number>;
  mix: number[];
  heads: number[];
  /** The arm runs, seed by seed, ARMS in order within a seed (what trainArm takes). */
  arms: { label: string; arm: Arm; seed: number; stage1: Sample[] | null; heads: number[] | null }[];
}

// α from the pilot, the mixes and the heads: every arm's run, described before any of them runs.
function design(ctx: Context, task: TaskData, { before, after }: Pilot, bases: Map<string, Baseline>, runs: Map<string, TaskRun[]>): Design {
  const { seeds } = ctx.plan.application;
  const basics = tasksOf(ctx, 'basic');
  const { layers, heads } = ctx.config;
  const delta = patternFromArray(layers, heads, after.map((v, i) => v - before[i]!));
  const meanDelta = (name: string) => {
    const ds = runs.get(name)!.map((r) => deltaAP(ctx, bases.get(name)!, r));
    return ds[0]!.map((_, i) => mean(ds.map((d) => d[i]!)));
  };
  const patterns = Object.fromEntries(basics.map((b) => [b.name, patternFromArray(layers, heads, meanDelta(b.name))]));
  const alpha = decompose(delta, patterns, { method: 'ols', intercept: true, permutations: 1 }).coefficients;
  const mix = proportions(basics.map((b) => Math.max(alpha[b.name]!, 0)));
  const headSet = topK(before, ctx.plan.application.headK);
  const formatData = formatStage1(ctx);
  const arms: Design['arms'] = [];
  for (let s = 0; s < seeds; s++) {
    const seed = ctx.plan.seed + 100 * (s + 1);
    // uniform on the simplex (normalised exponentials): a fresh random mix per seed
    const rng = new Rng(seed + 17);
    const randomMix = proportions(basics.map(() => -Math.log(1 - rng.next())));
    for (const arm of ARMS) {
      const stage1 =
        arm === 'pattern-mix' ? basicMix(ctx, basics, mix)
        : arm === 'random-mix' ? basicMix(ctx, basics, randomMix)
        : arm === 'uniform-mix' ? basicMix(ctx, basics, basics.map(() => 1 / basics.length))
        : arm === 'format-only' ? formatData
        : undefined;
      arms.push({ label: `application: ${task.name}, seed ${s + 1}/${seeds}, ${arm}`, arm, seed, stage1: stage1 ?? null, heads: arm === 'heads' ? headSet : null });
    }
  }
  return { task, alpha, mix, heads: headSet, arms };
}

function outcome(ctx: Context, d: Design, accuracy: number[], bases: Map<string, Baseline>): TaskApplication {
  const basics = tasksOf(ctx, 'basic');
  const accuracies = Object.fromEntries(ARMS.map((arm) => [arm, accuracy.filter((_, i) => d.arms[i]!.arm === arm)])) as Record<Arm, number[]>;
  return {
    task: d.task.name, budget: take(d.task, ctx.plan.application.budget).length, baseAccuracy: bases.get(d.task.name)!.base.accuracy,
    alpha: d.alpha, mix: Object.fromEntries(basics.map((b, i) => [b.name, d.mix[i]!])), heads: d.heads,
    arms: ARMS.map((arm) => ({ arm, accuracies: accuracies[arm], mean: mean(accuracies[arm]), std: std(accuracies[arm]) })),
    tests: Object.fromEntries(ARMS.filter((a) => a !== 'pattern-mix').map((a) => [a, pairedTTest(accuracies['pattern-mix'], accuracies[a])])),
  };
}

/** The pilot's AP of the base model on the scarce samples, before and after SFT on them. */
export interface Pilot {
  before: number[];
  after: number[];
}

export async function pilot(ctx: Context, data: Sample[]): Promise<Pilot> {
  return withModel(ctx, async (model) => {
    const ap = async () => Array.from((await activationPattern(model, data, { tokenizer: ctx.tokenizer })).values);
    const before = await ap();
    await fineTune(ctx, model, data, { seed: ctx.plan.seed + 5, steps: 2 * ctx.plan.application.stageSteps, batchSize: ctx.plan.application.batchSize, lr: ctx.plan.application.lr });
    return { before, after: await ap() };
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

// basicSamples format samples (the suite's format set, else the control tasks' pools): stage 1
// that practises the prompt format and nothing else of the experiment.
function formatStage1(ctx: Context): Sample[] | undefined {
  const n = ctx.plan.application.basicSamples;
  const pool = ctx.suite.format.length ? ctx.suite.format : tasksOf(ctx, 'control').flatMap((t) => t.pool);
  return pool.length ? pool.slice(0, n) : undefined;
}

// Stage 1 (when given) then stage 2 on the complex data; the total is always 2 · stageSteps.
export async function trainArm(ctx: Context, task: TaskData, data: Sample[], stage1: Sample[] | undefined, heads: number[] | undefined, seed: number): Promise<number> {
  const { stageSteps, batchSize, lr } = ctx.plan.application;
  return withModel(ctx, async (model: GPT) => {
    if (stage1) {
      await fineTune(ctx, model, stage1, { seed, steps: stageSteps, batchSize, lr });
      await fineTune(ctx, model, data, { seed: seed + 1, steps: stageSteps, batchSize, lr });
    } else if (heads) {
      const mask = new Uint8Array(ctx.config.layers * ctx.config.heads);
      for (const h of heads) mask[h] = 1;
      await fineTune(ctx, model, data, { seed, steps: 2 * stageSteps, batchSize, lr, mode: 'heads', trainableHeads: mask });
    } else {
      await fineTune(ctx, model, data, { seed, steps: 2 * stageSteps, batchSize, lr });
    }
    return exactMatchAccuracy(model, task.test, { tokenizer: ctx.tokenizer, check: task.check, ...(task.maxNewTokens ? { maxNewTokens: task.maxNewTokens } : {}) });
  });
}
