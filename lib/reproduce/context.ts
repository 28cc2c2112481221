// What every stage of the experiment shares: the base model's weights (after the format stage;
// the shipped or given weights are kept beside them), the tokenizer, the tasks, the plan, the
// device and a progress log on stderr. Each SFT run starts from a fresh model built from the
// base weights, so no optimizer state (AdamW moments, step count) leaks from one run to another.
// Models run on the CPU engine by default: its results are bitwise repeatable for one thread
// count; --device cuda runs them on a GPU. The runner executes the independent runs (jobs.ts),
// in this process or on worker processes (runner.ts).
import type { Precision } from '../backend.js';
import { GPT } from '../model.js';
import type { GPTConfig } from '../checkpoint/index.js';
import type { Tokenizer } from '../tokenizer.js';
import type { Sample } from '../data/sample.js';
import { sft, type SftHistory, type SftOptions } from '../sft.js';
import type { Plan } from './plan.js';
import type { Suite, TaskData } from './suite.js';
import type { JobKind, JobOf, JobResults } from './jobs.js';

/** Executes a stage's independent runs; the results come in the order of the jobs. */
export interface Runner {
  all<K extends JobKind>(ctx: Context, stage: string, jobs: readonly JobOf<K>[]): Promise<JobResults[K][]>;
}

export interface Context {
  config: GPTConfig;
  /** The weights every SFT run starts from: the given model after the format stage. */
  base: Float32Array;
  /** The given model's own weights (before the format stage). */
  given: Float32Array;
  device: 'cpu' | 'cuda';
  precision: Precision;
  tokenizer: Tokenizer;
  suite: Suite;
  plan: Plan;
  runner: Runner;
  log(message: string): void;
}

/** A fresh model holding `params` (the base weights by default); disposed when `use` settles. */
export async function withModel<T>(ctx: Context, use: (model: GPT) => Promise<T>, params = ctx.base): Promise<T> {
  const model = await GPT.create({ ...ctx.config, device: ctx.device, precision: ctx.precision });
  try {
    await model.importParameters(params);
    return await use(model);
  } finally {
    model.dispose();
  }
}

/** SFT with the plan's schedule; options override it (steps, batch, mode, snapshots, ...). */
export function fineTune(ctx: Context, model: GPT, data: readonly Sample[], o: Partial<SftOptions> & { seed: number; steps: number }): Promise<SftHistory> {
  const { lr, warmupSteps, batchSize } = ctx.plan.sft;
  return sft(model, data, { tokenizer: ctx.tokenizer, lr, warmupSteps: Math.min(warmupSteps, o.steps), batchSize, progress: false, ...o });
}

export function tasksOf(ctx: Context, kind: TaskData['kind']): TaskData[] {
  return ctx.suite.tasks.filter((t) => t.kind === kind);
}

/** A log function that prefixes the seconds since `started`. */
export function stderrLog(started = performance.now()): (m: string) => void {
  return (m) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);
}
