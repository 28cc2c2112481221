// Option parsers, input loaders and the result printer shared by the commands.
// Everything here runs before any long work starts, so a typo fails in milliseconds with a
// message that names the option and what was wrong.
import { InvalidArgumentError } from 'commander';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { readSamples } from '../data/jsonl.js';
import { TASKS, getTask } from '../data/tasks.js';
import { isChatSample, questionAndAnswer, type TrainingSample } from '../data/sample.js';
import type { Checker } from '../evaluate.js';
import type { Tokenizer } from '../tokenizer.js';
import { tokenizerForModel } from '../model_tokenizer.js';

/**
 * A parser of whole numbers ≥ `min` written in decimal digits, so that "", " 7", "1e3", "0x10"
 * and "2.0" are refused rather than read as numbers; `expected` words the error message.
 */
export function integerAtLeast(min: number, expected = `an integer ≥ ${min}`): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected ${expected}, got "${v}"`);
    return n;
  };
}

export const positiveInt = integerAtLeast(1, 'a positive integer');
export const nonNegativeInt = integerAtLeast(0);

export function positiveNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number > 0, got "${v}"`);
  return n;
}

/** Throws unless `file` is an existing regular file; `option` names the flag in the message. */
export async function requireFile(file: string, option: string): Promise<void> {
  const s = await stat(file).catch(() => undefined);
  if (!s) throw new Error(`${option}: no such file: ${file}`);
  if (!s.isFile()) throw new Error(`${option}: not a file: ${file}`);
}

/** Throws unless `p` is a checkpoint file or a model folder (config.json inside). */
export async function requireModel(p: string, option = '--model'): Promise<void> {
  const s = await stat(p).catch(() => undefined);
  if (!s) throw new Error(`${option}: no such file or folder: ${p}`);
  if (s.isDirectory()) {
    const cfg = await stat(path.join(p, 'config.json')).catch(() => undefined);
    if (!cfg?.isFile()) throw new Error(`${option}: the folder ${p} has no config.json, so it is not a model folder`);
  } else if (!s.isFile()) {
    throw new Error(`${option}: not a file or folder: ${p}`);
  }
}

/** Throws unless the folder that `file` would be written into exists. */
export async function requireOutputDir(file: string, option: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const s = await stat(dir).catch(() => undefined);
  if (!s?.isDirectory()) throw new Error(`${option}: the folder ${dir} does not exist (for ${file})`);
}

/** Checks the value of --task against the suite. */
export function requireTask(name: string, option = '--task'): void {
  const names = TASKS.map((t) => t.name);
  if (!names.includes(name)) throw new Error(`${option}: unknown task "${name}"; the suite has ${names.join(', ')}`);
}

/**
 * The GPT class, imported on first use rather than at the top of the command modules, so that
 * commands which never touch the engine (decompose, report) run where the addon is not built.
 */
export async function loadGPT(): Promise<typeof import('../model.js').GPT> {
  return (await import('../model.js')).GPT;
}

/**
 * The model at `p` (checkpoint file or model folder) and its tokenizer (model_tokenizer.ts). A
 * folder's tokenizer is read first, so a missing tokenizer.json fails before the weights load.
 * Disposing the result disposes the model. `workload` (what the command will run) goes to the
 * memory check before the model is allocated (lib/memory_plan.ts).
 */
export async function loadModel(p: string, workload?: import('../memory_plan.js').Workload): Promise<{ model: import('../model.js').GPT; tokenizer: Tokenizer } & Disposable> {
  const folder = (await stat(p)).isDirectory();
  const early = folder ? await tokenizerForModel(p) : undefined;
  const model = await (await loadGPT()).load(p, { workload });
  try {
    const tokenizer = early ?? (await tokenizerForModel(p, model.config));
    if (tokenizer.vocabSize > model.config.vocabSize) {
      throw new Error(`${p}: the tokenizer has ${tokenizer.vocabSize} token ids but the model's vocabulary is ${model.config.vocabSize}`);
    }
    return { model, tokenizer, [Symbol.dispose]: () => model.dispose() };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

export interface DataSource {
  data?: string;
  task?: string;
}

/** Checks that exactly one of --data / --task is given and that it exists. */
export async function checkDataSource(o: DataSource): Promise<void> {
  if ((o.data === undefined) === (o.task === undefined)) throw new Error('give exactly one of --data FILE.jsonl or --task NAME');
  if (o.data !== undefined) await requireFile(o.data, '--data');
  if (o.task !== undefined) requireTask(o.task);
}

export interface LoadedData {
  samples: TrainingSample[];
  /** The task's checker, or exact string equality with the file's response for --data (a conversation's last assistant turn, both trimmed). */
  check: Checker;
  /** The task name, or the file name, for provenance and reports. */
  name: string;
}

/** Samples from --task (generated from `seed`) or from --data (the first `count` lines, or all). */
export async function loadData(o: DataSource, count: number | undefined, seed: number): Promise<LoadedData> {
  if (o.task !== undefined) {
    const task = getTask(o.task);
    return { samples: task.generate(count ?? 256, seed), check: task.check, name: task.name };
  }
  const all = await readSamples(o.data!);
  if (all.length === 0) throw new Error(`--data: ${o.data} holds no samples`);
  const samples = count === undefined ? all : all.slice(0, count);
  const answers = new Map(samples.map((s) => {
    const { question, answer } = questionAndAnswer(s);
    return [question, { answer, chat: isChatSample(s) }] as const;
  }));
  const check = (question: string, output: string) => {
    const a = answers.get(question);
    return a !== undefined && (a.chat ? a.answer.trim() === output.trim() : a.answer === output);
  };
  return { samples, check, name: path.basename(o.data!) };
}

/** Writes a result: JSON on stdout with --json, else the human-readable lines. Progress never goes here. */
export function printResult(json: boolean, result: unknown, text: () => string[]): void {
  process.stdout.write(json ? JSON.stringify(result, null, 2) + '\n' : text().join('\n') + '\n');
}
