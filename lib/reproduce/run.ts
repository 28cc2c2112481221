// The experiment end to end: load and check the inputs, SFT every task from the base model,
// then findings 1-3 and the application, then the report. Progress goes to stderr.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { backendInfo } from '../backend.js';
import { readCheckpoint } from '../checkpoint/index.js';
import { tokenizerForModel } from '../model_tokenizer.js';
import { VERSION } from '../version.js';
import { writeReport } from '../report/html.js';
import { withModel, stderrLog, tasksOf, type Context } from './context.js';
import { makePlan, type Plan, type Preset } from './plan.js';
import { checkFits, fileSuite, syntheticSuite, type Suite } from './suite.js';
import { runTask, type TaskRun } from './task-run.js';
import { probeBaseSkills, type SkillProbe } from './base-skills.js';
import { finding1, type Finding1 } from './finding1.js';
import { ablation, type Ablation } from './ablation.js';
import { finding2, type Composition } from './finding2.js';
import { finding3, type Finding3 } from './finding3.js';
import { application, type TaskApplication } from './application.js';
import { buildReport } from './report.js';

/** The model that ships with the package (scripts/make-model.ts). */
export const SHIPPED_MODEL = fileURLToPath(new URL('../../models/base.safetensors', import.meta.url));

export interface ReproduceOptions {
  model?: string;
  tasks?: string;
  out: string;
  preset: Preset;
  seed?: number;
  log?: (m: string) => void;
}

export interface Setup {
  version: string;
  model: { path: string; shipped: boolean; sha256: string | null; config: Context['config']; format: string };
  tasks: { source: Suite['source']; dir?: string; names: Record<string, string[]> };
  plan: Plan;
  threads: number;
  baseSkills: SkillProbe[] | null;
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

export async function reproduce(o: ReproduceOptions): Promise<{ result: ReproduceResult; html: string; json: string }> {
  const started = performance.now();
  const log = o.log ?? stderrLog(started);
  const plan = makePlan(o.preset, o.seed ?? 0);
  const { ctx, setup } = await prepare(o, plan, log);
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    seconds[name] = (performance.now() - t0) / 1000;
    return r;
  };

  if (ctx.suite.source === 'synthetic') {
    setup.baseSkills = await timed('baseSkills', () => withModel(ctx, (m) => probeBaseSkills(m, ctx.tokenizer, plan.probeSamples, plan.seed + 9)));
  }
  const runs = await timed('sft', () => sftEveryTask(ctx));
  const budgetRuns = await timed('budgets', () => runBudgets(ctx, runs));
  const f1 = finding1(ctx, runs);
  const abl = await timed('ablation', () => ablation(ctx));
  const f2 = finding2(ctx, runs);
  const f3 = finding3([...runs.values()], budgetRuns);
  const app = await timed('application', () => application(ctx, runs));
  seconds.total = (performance.now() - started) / 1000;

  const result: ReproduceResult = { setup, finding1: f1, ablation: abl, finding2: f2, finding3: f3, application: app, seconds };
  const files = await writeReport(o.out, buildReport(result), result);
  log(`report: ${files.html} (${seconds.total.toFixed(0)} s in all)`);
  return { result, ...files };
}

// Everything that can be wrong with the inputs fails here, before any training.
async function prepare(o: ReproduceOptions, plan: Plan, log: (m: string) => void): Promise<{ ctx: Context; setup: Setup }> {
  const modelPath = o.model ?? SHIPPED_MODEL;
  const found = await stat(modelPath).catch(() => undefined);
  if (!found) {
    throw new Error(o.model ? `--model: no such file or folder: ${modelPath}` : `the shipped model ${modelPath} is missing; rebuild it with: npx tsx scripts/make-model.ts`);
  }
  const { config, params, format } = await readCheckpoint(modelPath);
  const tokenizer = await tokenizerForModel(modelPath, config);
  const suite = o.tasks ? await fileSuite(o.tasks, plan) : syntheticSuite(plan);
  checkFits(suite, tokenizer, config);
  const sha256 = found.isFile() ? createHash('sha256').update(await readFile(modelPath)).digest('hex') : null;
  log(`model ${modelPath}: ${config.layers} layers × ${config.heads} heads, dim ${config.dim}, context ${config.maxSeqLen}; ${suite.tasks.length} tasks; preset ${plan.preset}`);
  const names: Record<string, string[]> = {};
  for (const t of suite.tasks) (names[t.kind] ??= []).push(t.name);
  const setup: Setup = {
    version: VERSION,
    model: { path: modelPath, shipped: o.model === undefined, sha256, config, format },
    tasks: { source: suite.source, ...(suite.dir ? { dir: suite.dir } : {}), names },
    plan,
    threads: backendInfo().cpu.threads,
    baseSkills: null,
  };
  return { ctx: { config, base: params, tokenizer, suite, plan, log }, setup };
}

async function sftEveryTask(ctx: Context): Promise<Map<string, TaskRun>> {
  const runs = new Map<string, TaskRun>();
  for (const [i, t] of ctx.suite.tasks.entries()) {
    ctx.log(`finding 1: SFT on ${t.name} (${i + 1}/${ctx.suite.tasks.length})`);
    runs.set(t.name, await runTask(ctx, t, ctx.plan.sft.samples, ctx.plan.seed + i));
  }
  return runs;
}

// The complex tasks at each sample budget; the budget finding 1 used is not run again.
async function runBudgets(ctx: Context, runs: Map<string, TaskRun>): Promise<Map<string, TaskRun[]>> {
  const out = new Map<string, TaskRun[]>();
  for (const t of tasksOf(ctx, 'complex')) {
    const list: TaskRun[] = [];
    for (const n of ctx.plan.budgets) {
      if (n === ctx.plan.sft.samples) {
        list.push(runs.get(t.name)!);
        continue;
      }
      ctx.log(`finding 3: SFT on ${t.name} with ${n} samples`);
      list.push(await runTask(ctx, t, n, ctx.plan.seed + 50));
    }
    out.set(t.name, list);
  }
  return out;
}
