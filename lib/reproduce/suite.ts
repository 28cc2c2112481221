// The tasks an experiment runs on: the synthetic suite (lib/data/tasks.ts), or the user's own
// JSONL files (--tasks DIR). Either way each task becomes a training pool, a held-out test set
// (accuracy under the task's checker) and a probe set (activation patterns and held-out loss),
// and every sample is checked against the model before any training starts. The three sets are
// disjoint, so no pattern or score is measured on data a run trained on. Besides the tasks, a
// suite holds format samples (format-tasks.ts, or DIR/format/) for the format stage.
//
// --tasks DIR layout:
//   DIR/basic/NAME.jsonl      one file per basic task (at least two)
//   DIR/complex/NAME.jsonl    one file per complex task (at least one)
//   DIR/control/NAME.jsonl    optional: tasks unrelated to the basic ones
//   DIR/format/NAME.jsonl     optional: samples for the format stage (no task of the experiment)
//   DIR/manifest.json         optional: { "constituents": { "COMPLEX_NAME": ["BASIC_NAME", ...] },
//                                         "check": CHECK, "checks": { "NAME": CHECK }, "maxNewTokens": N }
// Lines are {"prompt","response"} (or {"instruction","input","output"}). The first testSamples
// lines of a file (after a seeded shuffle) are the test set, the next probeSamples the probe
// set; the rest is the training pool. CHECK decides when a generated answer is correct:
//   "exact"        (default) it equals the file's response for that prompt
//   "last-number"  its last number equals the response's last number (GSM8K "#### 42" style;
//                  commas dropped, compared as numbers)
//   "regex:RE"     the first capture group (or the whole match) of RE in the answer equals the
//                  same in the response, e.g. "regex:####\\s*(-?[\\d.,]+)"
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Tokenizer } from '../tokenizer.js';
import { readPromptSamples } from '../data/jsonl.js';
import { shuffled } from '../data/split.js';
import { TASKS, type TaskKind } from '../data/tasks.js';
import type { Sample } from '../data/sample.js';
import type { Checker } from '../evaluate.js';
import type { Plan } from './plan.js';
import { formatSamples } from './format-tasks.js';
import { HeadgradError } from '../errors.js';

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
  /** What `check` does, for the report: exact, last-number or regex:RE. */
  checkName: string;
  /** Tokens generated at most per test answer (undefined: the reference length + 1). */
  maxNewTokens?: number;
}

export interface Suite {
  source: 'synthetic' | 'files';
  dir?: string;
  tasks: TaskData[];
  /** Samples for the format stage (none: the stage is skipped). */
  format: Sample[];
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

/** The synthetic suite, or the user's files when a --tasks folder is given. */
export function loadSuite(dir: string | undefined, plan: Plan): Promise<Suite> {
  return dir ? fileSuite(dir, plan) : Promise.resolve(syntheticSuite(plan));
}

export function syntheticSuite(plan: Plan): Suite {
  const tasks = TASKS.map((t) => {
    const pool = t.generate(poolSize(plan), plan.seed);
    // test inputs never seen in training (small input spaces, like add's, would repeat)
    const seen = new Set(pool.map((s) => s.prompt));
    const heldOut = unique(t.generate((plan.testSamples + plan.probeSamples) * 4, plan.seed + 1)).filter((s) => !seen.has(s.prompt));
    const test = heldOut.slice(0, plan.testSamples);
    const probe = heldOut.slice(plan.testSamples, plan.testSamples + plan.probeSamples);
    return { name: t.name, kind: t.kind, constituents: [...t.constituents], pool, test, probe, check: t.check, checkName: 'exact', ...(plan.maxNewTokens ? { maxNewTokens: plan.maxNewTokens } : {}) };
  });
  return { source: 'synthetic', tasks, format: plan.format ? formatSamples(plan.format.samples, plan.seed) : [] };
}

export async function fileSuite(dir: string, plan: Plan): Promise<Suite> {
  const s = await stat(dir).catch(() => undefined);
  if (!s?.isDirectory()) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: not a folder: ${dir}`);
  const manifest = await readManifest(dir);
  const { constituents } = manifest;
  const tasks: TaskData[] = [];
  for (const kind of KINDS) {
    for (const file of await jsonlFiles(path.join(dir, kind))) {
      const name = path.basename(file, '.jsonl');
      const all = await readPromptSamples(file);
      const heldOut = plan.testSamples + plan.probeSamples;
      if (all.length < heldOut + 8) {
        throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: ${file} has ${all.length} samples; this plan needs at least ${heldOut + 8} (${plan.testSamples} test + ${plan.probeSamples} probe + 8 to train on)`);
      }
      const order = shuffled(all, plan.seed);
      const answers = new Map(all.map((x) => [x.prompt, x.response]));
      const checkName = manifest.checks[name] ?? manifest.check;
      const maxNewTokens = plan.maxNewTokens ?? manifest.maxNewTokens;
      tasks.push({
        name, kind, constituents: kind === 'complex' ? constituents[name] ?? [] : [],
        pool: order.slice(heldOut), test: order.slice(0, plan.testSamples), probe: order.slice(plan.testSamples, heldOut),
        check: makeChecker(checkName, answers, `${file}`), checkName,
        ...(maxNewTokens ? { maxNewTokens } : {}),
      });
    }
  }
  checkSuite(tasks, manifest, dir);
  const format: Sample[] = [];
  if (plan.format) for (const file of await jsonlFiles(path.join(dir, 'format'))) format.push(...(await readPromptSamples(file)));
  return { source: 'files', dir, tasks, format: format.length ? shuffled(format, plan.seed) : [] };
}

function unique(samples: Sample[]): Sample[] {
  const seen = new Set<string>();
  return samples.filter((s) => !seen.has(s.prompt) && (seen.add(s.prompt), true));
}

async function jsonlFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.jsonl')).sort().map((n) => path.join(dir, n));
}

interface Manifest {
  constituents: Record<string, string[]>;
  check: string;
  checks: Record<string, string>;
  maxNewTokens?: number;
}

const CHECKS = /^(exact|last-number|regex:.+)$/s;

async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, 'manifest.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return { constituents: {}, check: 'exact', checks: {} };
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: ${file} must be a JSON object`);
  const c = m.constituents ?? {};
  const ok = c !== null && typeof c === 'object' && !Array.isArray(c) &&
    Object.values(c).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'));
  if (!ok) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: ${file} must be { "constituents": { "COMPLEX": ["BASIC", ...] } }`);
  const checkOf = (v: unknown, where: string): string => {
    if (typeof v !== 'string' || !CHECKS.test(v)) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: ${file}: ${where} must be "exact", "last-number" or "regex:PATTERN", got ${JSON.stringify(v)}`);
    if (v.startsWith('regex:')) {
      try {
        new RegExp(v.slice(6));
      } catch (e) {
        throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: ${file}: ${where}: ${(e as Error).message}`);
      }
    }
    return v;
  };
  const check = m.check === undefined ? 'exact' : checkOf(m.check, '"check"');
  const given = m.checks ?? {};
  if (given === null || typeof given !== 'object' || Array.isArray(given)) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: ${file}: "checks" must be { "TASK": CHECK }`);
  const checks = Object.fromEntries(Object.entries(given).map(([k, v]) => [k, checkOf(v, `"checks"."${k}"`)]));
  const mnt = m.maxNewTokens;
  if (mnt !== undefined && !(Number.isInteger(mnt) && (mnt as number) > 0)) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: ${file}: "maxNewTokens" must be a positive integer, got ${JSON.stringify(mnt)}`);
  return { constituents: c as Record<string, string[]>, check, checks, ...(mnt !== undefined ? { maxNewTokens: mnt as number } : {}) };
}

/** The last number in a text (commas dropped), or undefined. */
export function lastNumber(text: string): number | undefined {
  const all = text.replace(/(\d),(?=\d{3}\b)/g, '$1').match(/-?\d+(?:\.\d+)?/g);
  return all ? Number(all[all.length - 1]) : undefined;
}

/** The checker a manifest names: answers maps each prompt to its reference response. */
export function makeChecker(name: string, answers: Map<string, string>, file: string): Checker {
  const reference = (prompt: string) => {
    const r = answers.get(prompt);
    if (r === undefined) throw new HeadgradError('ERR_HEADGRAD_TASKS', `${file}: no reference answer for prompt ${JSON.stringify(prompt.slice(0, 40))}`);
    return r;
  };
  if (name === 'exact') return (prompt, output) => reference(prompt) === output;
  if (name === 'last-number') {
    return (prompt, output) => {
      const want = lastNumber(reference(prompt));
      const got = lastNumber(output);
      return want !== undefined && got !== undefined && Math.abs(want - got) <= 1e-9 * Math.max(1, Math.abs(want));
    };
  }
  const re = new RegExp(name.slice('regex:'.length));
  const pick = (t: string) => {
    const m = re.exec(t);
    return m ? (m[1] ?? m[0]).trim() : undefined;
  };
  return (prompt, output) => {
    const want = pick(reference(prompt));
    return want !== undefined && pick(output) === want;
  };
}

function checkSuite(tasks: TaskData[], manifest: Manifest, dir: string): void {
  const { constituents } = manifest;
  const names = (kind: TaskKind) => tasks.filter((t) => t.kind === kind).map((t) => t.name);
  const basic = names('basic');
  if (basic.length < 2) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: ${dir}/basic/ needs at least two NAME.jsonl files, found ${basic.length}`);
  if (names('complex').length < 1) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: ${dir}/complex/ needs at least one NAME.jsonl file, found none`);
  const seen = new Set<string>();
  for (const t of tasks) {
    if (seen.has(t.name)) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: two tasks are named "${t.name}"; names must be unique across basic/, complex/ and control/`);
    seen.add(t.name);
  }
  for (const [complex, parts] of Object.entries(constituents)) {
    if (!names('complex').includes(complex)) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: manifest.json names "${complex}", which is not a file in ${dir}/complex/`);
    for (const p of parts) if (!basic.includes(p)) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: manifest.json: constituent "${p}" of "${complex}" is not a file in ${dir}/basic/ (basic tasks: ${basic.join(', ')})`);
  }
  for (const name of Object.keys(manifest.checks)) {
    if (!seen.has(name)) throw new HeadgradError('ERR_HEADGRAD_TASKS', `--tasks: manifest.json: "checks" names "${name}", which is not a task file in ${dir}`);
  }
}

/**
 * Every sample must fit the model whole: prompt · separator · response · eos within maxSeqLen + 1
 * tokens (SFT would silently cut the prompt otherwise), and the heads must outnumber the basic
 * tasks so the decomposition is determined.
 */
export function checkFits(suite: Suite, tokenizer: Tokenizer, cfg: { maxSeqLen: number; layers: number; heads: number }): void {
  const fits = (what: string, samples: readonly Sample[]) => samples.forEach((s, i) => {
    const n = tokenizer.encode(s.prompt).length + tokenizer.separator.length + tokenizer.encode(s.response).length;
    if (n > cfg.maxSeqLen) {
      throw new HeadgradError('ERR_HEADGRAD_TASKS', `${what} sample ${i} (${JSON.stringify(s.prompt.slice(0, 40))}…) needs ${n} input tokens, the model's maxSeqLen is ${cfg.maxSeqLen}`);
    }
  });
  for (const t of suite.tasks) {
    for (const [part, samples] of [['training', t.pool], ['test', t.test], ['probe', t.probe]] as const) fits(`task "${t.name}": ${part}`, samples);
  }
  fits('format stage:', suite.format);
  const basics = suite.tasks.filter((t) => t.kind === 'basic').length;
  if (cfg.layers * cfg.heads <= basics + 2) {
    throw new HeadgradError('ERR_HEADGRAD_TASKS', `the model has ${cfg.layers * cfg.heads} heads; decomposing on ${basics} basic tasks (+ intercept + the target's own AP_base) needs more heads than that`);
  }
}
