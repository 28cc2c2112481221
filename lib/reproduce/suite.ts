// The tasks an experiment runs on: the synthetic suite (lib/data/tasks.ts), or the user's own
// JSONL files (--tasks DIR). Either way each task becomes a training pool, a held-out test set
// (exact-match accuracy) and a probe set (the first test samples; activation patterns), and
// every sample is checked against the model before any training starts. The three sets are
// disjoint, so no pattern or score is measured on data a run trained on.
//
// --tasks DIR layout:
//   DIR/basic/NAME.jsonl      one file per basic task (at least two)
//   DIR/complex/NAME.jsonl    one file per complex task (at least one)
//   DIR/control/NAME.jsonl    optional: tasks unrelated to the basic ones
//   DIR/manifest.json         optional: { "constituents": { "COMPLEX_NAME": ["BASIC_NAME", ...] } }
// Lines are {"prompt","response"} (or {"instruction","input","output"}). The first testSamples
// lines of a file (after a seeded shuffle) are the test set, the next probeSamples the probe
// set; the rest is the training pool. A model's answer is correct when it equals the file's
// response for that prompt.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Tokenizer } from '../tokenizer.js';
import { readPromptSamples } from '../data/jsonl.js';
import { shuffled } from '../data/split.js';
import { TASKS, type TaskKind } from '../data/tasks.js';
import type { Sample } from '../data/sample.js';
import type { Checker } from '../evaluate.js';
import type { Plan } from './plan.js';

export interface TaskData {
  name: string;
  kind: TaskKind;
  /** Basic tasks a complex task is made of ([] when unknown or not complex). */
  constituents: string[];
  /** Training samples; a run on n samples takes the first n. */
  pool: Sample[];
  /** Held out: exact-match accuracy. */
  test: Sample[];
  /** Held out too, disjoint from test: the activation patterns of findings 1-3. */
  probe: Sample[];
  check: Checker;
}

export interface Suite {
  source: 'synthetic' | 'files';
  dir?: string;
  tasks: TaskData[];
}

const KINDS: TaskKind[] = ['basic', 'complex', 'control'];

/** Training samples a plan may ask of one task. */
export function poolSize(plan: Plan): number {
  return Math.max(plan.sft.samples, ...plan.budgets, plan.application.basicSamples);
}

/** The first n samples of a task's pool (fewer when the pool is smaller: user files). */
export function take(task: TaskData, n: number): Sample[] {
  return task.pool.slice(0, n);
}

export function syntheticSuite(plan: Plan): Suite {
  const tasks = TASKS.map((t) => {
    const pool = t.generate(poolSize(plan), plan.seed);
    // test inputs never seen in training (small input spaces, like add's, would repeat)
    const seen = new Set(pool.map((s) => s.prompt));
    const heldOut = unique(t.generate((plan.testSamples + plan.probeSamples) * 4, plan.seed + 1)).filter((s) => !seen.has(s.prompt));
    const test = heldOut.slice(0, plan.testSamples);
    const probe = heldOut.slice(plan.testSamples, plan.testSamples + plan.probeSamples);
    return { name: t.name, kind: t.kind, constituents: [...t.constituents], pool, test, probe, check: t.check };
  });
  return { source: 'synthetic', tasks };
}

export async function fileSuite(dir: string, plan: Plan): Promise<Suite> {
  const s = await stat(dir).catch(() => undefined);
  if (!s?.isDirectory()) throw new Error(`--tasks: not a folder: ${dir}`);
  const constituents = await readManifest(dir);
  const tasks: TaskData[] = [];
  for (const kind of KINDS) {
    for (const file of await jsonlFiles(path.join(dir, kind))) {
      const name = path.basename(file, '.jsonl');
      const all = await readPromptSamples(file);
      const heldOut = plan.testSamples + plan.probeSamples;
      if (all.length < heldOut + 8) {
        throw new Error(`--tasks: ${file} has ${all.length} samples; this plan needs at least ${heldOut + 8} (${plan.testSamples} test + ${plan.probeSamples} probe + 8 to train on)`);
      }
      const order = shuffled(all, plan.seed);
      const answers = new Map(all.map((x) => [x.prompt, x.response]));
      tasks.push({
        name, kind, constituents: kind === 'complex' ? constituents[name] ?? [] : [],
        pool: order.slice(heldOut), test: order.slice(0, plan.testSamples), probe: order.slice(plan.testSamples, heldOut),
        check: (prompt, output) => answers.get(prompt) === output,
      });
    }
  }
  checkSuite(tasks, constituents, dir);
  return { source: 'files', dir, tasks };
}

function unique(samples: Sample[]): Sample[] {
  const seen = new Set<string>();
  return samples.filter((s) => !seen.has(s.prompt) && (seen.add(s.prompt), true));
}

async function jsonlFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.jsonl')).sort().map((n) => path.join(dir, n));
}

async function readManifest(dir: string): Promise<Record<string, string[]>> {
  const file = path.join(dir, 'manifest.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new Error(`--tasks: ${file} is not valid JSON: ${(e as Error).message}`);
  }
  const c = (m as { constituents?: unknown })?.constituents;
  const ok = c !== null && typeof c === 'object' && !Array.isArray(c) &&
    Object.values(c).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'));
  if (!ok) throw new Error(`--tasks: ${file} must be { "constituents": { "COMPLEX": ["BASIC", ...] } }`);
  return c as Record<string, string[]>;
}

function checkSuite(tasks: TaskData[], constituents: Record<string, string[]>, dir: string): void {
  const names = (kind: TaskKind) => tasks.filter((t) => t.kind === kind).map((t) => t.name);
  const basic = names('basic');
  if (basic.length < 2) throw new Error(`--tasks: ${dir}/basic/ needs at least two NAME.jsonl files, found ${basic.length}`);
  if (names('complex').length < 1) throw new Error(`--tasks: ${dir}/complex/ needs at least one NAME.jsonl file, found none`);
  const seen = new Set<string>();
  for (const t of tasks) {
    if (seen.has(t.name)) throw new Error(`--tasks: two tasks are named "${t.name}"; names must be unique across basic/, complex/ and control/`);
    seen.add(t.name);
  }
  for (const [complex, parts] of Object.entries(constituents)) {
    if (!names('complex').includes(complex)) throw new Error(`--tasks: manifest.json names "${complex}", which is not a file in ${dir}/complex/`);
    for (const p of parts) if (!basic.includes(p)) throw new Error(`--tasks: manifest.json: constituent "${p}" of "${complex}" is not a file in ${dir}/basic/ (basic tasks: ${basic.join(', ')})`);
  }
}

/**
 * Every sample must fit the model whole: prompt · separator · response · eos within maxSeqLen + 1
 * tokens (SFT would silently cut the prompt otherwise), and the heads must outnumber the basic
 * tasks so the decomposition is determined.
 */
export function checkFits(suite: Suite, tokenizer: Tokenizer, cfg: { maxSeqLen: number; layers: number; heads: number }): void {
  for (const t of suite.tasks) {
    for (const [part, samples] of [['training', t.pool], ['test', t.test], ['probe', t.probe]] as const) {
      samples.forEach((s, i) => {
        const n = tokenizer.encode(s.prompt).length + tokenizer.separator.length + tokenizer.encode(s.response).length;
        if (n > cfg.maxSeqLen) {
          throw new Error(`task "${t.name}": ${part} sample ${i} (${JSON.stringify(s.prompt.slice(0, 40))}…) needs ${n} input tokens, the model's maxSeqLen is ${cfg.maxSeqLen}`);
        }
      });
    }
  }
  const basics = suite.tasks.filter((t) => t.kind === 'basic').length;
  if (cfg.layers * cfg.heads <= basics + 1) {
    throw new Error(`the model has ${cfg.layers * cfg.heads} heads; decomposing on ${basics} basic tasks (+ intercept) needs more heads than that`);
  }
}
