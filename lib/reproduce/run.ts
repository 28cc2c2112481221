// The experiment end to end: load and check the inputs, the format stage (the base every SFT
// run starts from), the base model's measurements per task, SFT on every task with several
// seeds, then findings 1-3 and the application, then the report. Progress goes to stderr.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { backendInfo, resolveDevice, type Device, type Precision } from '../backend.js';
import { readCheckpoint } from '../checkpoint/index.js';
import { tokenizerForModel } from '../model_tokenizer.js';
import { VERSION } from '../version.js';
import { writeReport } from '../report/html.js';
import { fineTune, withModel, stderrLog, tasksOf, type Context } from './context.js';
import { applyOverrides, makePlan, stepsFor, type Plan, type PlanOverrides, type Preset } from './plan.js';
import { checkFits, loadSuite, type Suite } from './suite.js';
import type { Baseline, TaskRun } from './task-run.js';
import { StageRunner, type Jobs } from './runner.js';
import { probeBaseSkills, type SkillProbe } from './base-skills.js';
import { finding1, type Finding1 } from './finding1.js';
import { ablation, type Ablation, type Multitask } from './ablation.js';
import { finding2, type Composition } from './finding2.js';
import { finding3, type Finding3 } from './finding3.js';
import { application, type TaskApplication } from './application.js';
import { buildReport } from './report.js';
import { HeadgradError } from '../errors.js';

/** The model that ships with the package (scripts/make-model.ts). */
export const SHIPPED_MODEL = fileURLToPath(new URL('../../models/base.safetensors', import.meta.url));

export interface ReproduceOptions {
  model?: string;
  tasks?: string;
  out: string;
  preset: Preset;
  seed?: number;
  /** Plan overrides: learning rate, steps, batch size, seeds, AP normalisation, generation length, no format stage. */
  overrides?: PlanOverrides;
  /** Default 'auto' (resolveDevice). */
  device?: Device;
  /** Default 'f32'. */
  precision?: Precision;
  /** Worker processes for the independent runs (runner.ts); default 'auto', 1: all in this process. */
  jobs?: Jobs;
  log?: (m: string) => void;
}

export interface Setup {
  version: string;
  model: { path: string; shipped: boolean; sha256: string | null; config: Context['config']; format: string };
  tasks: { source: Suite['source']; dir?: string; names: Record<string, string[]>; checks: Record<string, string> };
  plan: Plan;
  threads: number;
  /** The most worker processes of one thread each that a stage ran on (1: every run in this process). */
  workers: number;
  device: 'cpu' | 'cuda';
  /** The precision asked for (GPT.precision of each run says what ran: f32 where bf16 is not available). */
  precision: Precision;
  baseSkills: SkillProbe[] | null;
  /** The format stage: samples and steps run (null: skipped), and its last training loss. */
  format: { samples: number; steps: number; finalLoss: number } | null;
}

export interface ReproduceResult {
  setup: Setup;
  finding1: Finding1;
  ablation: Ablation;
  finding2: Composition[];
  finding3: Finding3;
  application: TaskApplication[];
  seconds: Record<string, number>;
}

/** Budget runs per seed (finding 3): the default plan's seeds, at most. */
const budgetSeeds = (plan: Plan) => Math.min(plan.seeds, 3);

export async function reproduce(o: ReproduceOptions): Promise<{ result: ReproduceResult; html: string; json: string }> {
  const started = performance.now();
  const log = o.log ?? stderrLog(started);
  const plan = applyOverrides(makePlan(o.preset, o.seed ?? 0), o.overrides ?? {});
  const { ctx, setup, runner } = await prepare(o, plan, log);
  try {
    return await stages(o, ctx, setup, runner, started);
  } finally {
    runner.close();
  }
}

async function stages(o: ReproduceOptions, ctx: Context, setup: Setup, runner: StageRunner, started: number): Promise<{ result: ReproduceResult; html: string; json: string }> {
  const { plan, log } = ctx;
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    seconds[name] = (performance.now() - t0) / 1000;
    return r;
  };

  if (ctx.suite.source === 'synthetic') {
    setup.baseSkills = await timed('baseSkills', () => withModel(ctx, (m) => probeBaseSkills(m, ctx.tokenizer, Math.min(plan.probeSamples, 64), plan.seed + 9)));
  }
  setup.format = await timed('format', () => formatStage(ctx));
  const bases = await timed('baselines', () => baselines(ctx));
  const { runs, budgetRuns, multitask } = await timed('sft', () => sftRuns(ctx));
  const f1 = finding1(ctx, bases, runs);
  const abl = await timed('ablation', () => ablation(ctx, multitask));
  const f2 = finding2(ctx, bases, runs);
  const f3 = finding3(runs, bases, budgetRuns);
  const app = await timed('application', () => application(ctx, bases, runs));
  seconds.total = (performance.now() - started) / 1000;
  setup.workers = runner.peak;

  const result: ReproduceResult = { setup, finding1: f1, ablation: abl, finding2: f2, finding3: f3, application: app, seconds };
  const files = await writeReport(o.out, buildReport(result), result);
  log(`report: ${files.html} (${seconds.total.toFixed(0)} s in all)`);
  return { result, ...files };
}

// Everything that can be wrong with the inputs fails here, before any training.
async function prepare(o: ReproduceOptions, plan: Plan, log: (m: string) => void): Promise<{ ctx: Context; setup: Setup; runner: StageRunner }> {
  const modelPath = o.model ?? SHIPPED_MODEL;
  const found = await stat(modelPath).catch(() => undefined);
  if (!found) {
    throw new HeadgradError('ERR_HEADGRAD_USAGE', o.model ? `--model: no such file or folder: ${modelPath}` : `the shipped model ${modelPath} is missing; rebuild it with: npx tsx scripts/make-model.ts`);
  }
  const { config, params, format } = await readCheckpoint(modelPath);
  const device = resolveDevice(o.device, 'reproduce');
  const precision = o.precision ?? 'f32';
  const tokenizer = await tokenizerForModel(modelPath, config);
  const suite = await loadSuite(o.tasks, plan);
  const jobs = o.jobs ?? 'auto';
  if (jobs !== 'auto' && jobs > 1 && device !== 'cpu') throw new HeadgradError('ERR_HEADGRAD_USAGE', `--jobs ${jobs}: worker processes are for the CPU engine; with --device ${device} the runs go one after the other (--jobs 1, the default there)`);
  // each worker holds a Node process, the addon and a model: beyond a few per core they only
  // share the cores and add up in memory
  const most = 4 * availableParallelism();
  if (jobs !== 'auto' && jobs > most) throw new HeadgradError('ERR_HEADGRAD_USAGE', `--jobs ${jobs}: at most ${most} (4 per CPU of this machine); more workers than cores only share them`);
  checkFits(suite, tokenizer, config);
  const sha256 = found.isFile() ? createHash('sha256').update(await readFile(modelPath)).digest('hex') : null;
  log(`model ${modelPath}: ${config.layers} layers × ${config.heads} heads, dim ${config.dim}, context ${config.maxSeqLen}; ${suite.tasks.length} tasks; preset ${plan.preset}`);
  const threads = backendInfo().cpu.threads;
  const runner = new StageRunner({ jobs, threads, model: modelPath });
  const names: Record<string, string[]> = {};
  for (const t of suite.tasks) (names[t.kind] ??= []).push(t.name);
  const setup: Setup = {
    version: VERSION,
    model: { path: modelPath, shipped: o.model === undefined, sha256, config, format },
    tasks: { source: suite.source, ...(suite.dir ? { dir: suite.dir } : {}), names, checks: Object.fromEntries(suite.tasks.map((t) => [t.name, t.checkName])) },
    plan,
    threads,
    workers: 1,
    device,
    precision,
    baseSkills: null,
    format: null,
  };
  return { ctx: { config, base: params, given: params, device, precision, tokenizer, suite, plan, runner, log }, setup, runner };
}

// The format stage: the given model fine-tuned on the format samples; its weights become the
// base of every later run (ctx.base). Skipped without a plan for it or without samples.
export async function formatStage(ctx: Context): Promise<Setup['format']> {
  const f = ctx.plan.format;
  if (!f || ctx.suite.format.length === 0) return null;
  ctx.log(`format stage: ${f.steps} steps on ${ctx.suite.format.length} format samples`);
  const { weights, finalLoss } = await withModel(ctx, async (m) => {
    const h = await fineTune(ctx, m, ctx.suite.format, { seed: ctx.plan.seed + 31, steps: f.steps, batchSize: f.batchSize, lr: f.lr, warmupSteps: Math.min(10, f.steps) });
    return { weights: await m.exportParameters(), finalLoss: h.steps[h.steps.length - 1]!.loss };
  });
  ctx.base = weights;
  return { samples: ctx.suite.format.length, steps: f.steps, finalLoss };
}

async function baselines(ctx: Context): Promise<Map<string, Baseline>> {
  const { tasks } = ctx.suite;
  const out = await ctx.runner.all(ctx, 'base model: probe and test sets', tasks.map((t) => ({ kind: 'baseline' as const, task: t.name, label: `base model on ${t.name}: probe and test sets` })));
  return new Map(tasks.map((t, i) => [t.name, out[i]!]));
}

// Every SFT run from the base: finding 1's (task × seed), finding 3's at the other sample budgets
// (the complex tasks at each budget and the first budgetSeeds seeds, for the plan's epochs; the
// finding-1 budget reuses finding 1's runs) and the ablation's multi-task model. They are
// independent of one another, so they are one stage, the long multi-task run first so that it
// does not finish last.
async function sftRuns(ctx: Context): Promise<{ runs: Map<string, TaskRun[]>; budgetRuns: Map<string, TaskRun[][]>; multitask: Multitask }> {
  const { seeds, budgets } = ctx.plan;
  const { tasks } = ctx.suite;
  const f1 = tasks.flatMap((t, i) => {
    const steps = stepsFor(ctx.plan, Math.min(ctx.plan.sft.samples, t.pool.length));
    return Array.from({ length: seeds }, (_, s) => ({
      kind: 'sft' as const, task: t.name, samples: ctx.plan.sft.samples, seed: ctx.plan.seed + 1000 * s + i,
      label: `finding 1: SFT on ${t.name} (${i + 1}/${tasks.length}), seed ${s + 1}/${seeds}, ${steps} steps`,
    }));
  });
  const bSeeds = budgetSeeds(ctx.plan);
  const complex = tasksOf(ctx, 'complex');
  const fresh = budgets.filter((n) => n !== ctx.plan.sft.samples);
  const f3 = complex.flatMap((t) => fresh.flatMap((n) => Array.from({ length: bSeeds }, (_, s) => ({
    kind: 'sft' as const, task: t.name, samples: n, seed: ctx.plan.seed + 50 + 1000 * s,
    label: `finding 3: SFT on ${t.name} with ${n} samples, seed ${s + 1}/${bSeeds}`,
  }))));
  const { steps } = ctx.plan.ablation;
  const multi = { kind: 'multitask' as const, label: `ablation: multi-task SFT on ${tasks.length} tasks, ${steps} steps` };
  const stage = `SFT: ${tasks.length} tasks × ${seeds} seeds (finding 1), ${complex.length} complex tasks × ${fresh.length} budgets × ${bSeeds} seeds (finding 3), the multi-task model (ablation)`;
  const out = await ctx.runner.all(ctx, stage, [multi, ...f1, ...f3]);
  const multitask = out[0] as Multitask;
  const sft = out.slice(1) as TaskRun[];
  const runs = new Map(tasks.map((t, i) => [t.name, sft.slice(i * seeds, (i + 1) * seeds)]));
  let next = f1.length;
  const budgetRuns = new Map(complex.map((t) => [t.name, budgets.map((n) => (n === ctx.plan.sft.samples ? runs.get(t.name)!.slice(0, bSeeds) : sft.slice(next, (next += bSeeds))))]));
  return { runs, budgetRuns, multitask };
}
