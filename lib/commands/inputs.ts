// Option parsers and input loaders shared by the pretrain / sft / patterns / ablate commands.
// Everything here runs before any long work starts, so a typo fails in milliseconds with a
// message that names the option and what was wrong.
import { InvalidArgumentError } from 'commander';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { readSamples } from '../data/jsonl.js';
import { TASKS, getTask } from '../data/tasks.js';
import type { Sample } from '../data/sample.js';
import type { Checker } from '../evaluate.js';

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`);
  return n;
}

export function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer ≥ 0, got "${v}"`);
  return n;
}

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
  samples: Sample[];
  /** The task's checker, or exact string equality with the file's response for --data. */
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
  const answers = new Map(samples.map((s) => [s.prompt, s.response]));
  return { samples, check: (prompt, output) => answers.get(prompt) === output, name: path.basename(o.data!) };
}

/** Writes a result: JSON on stdout with --json, else the human-readable lines. Progress never goes here. */
export function printResult(json: boolean, result: unknown, text: () => string[]): void {
  process.stdout.write(json ? JSON.stringify(result, null, 2) + '\n' : text().join('\n') + '\n');
}
