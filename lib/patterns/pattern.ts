// Head patterns (an activation pattern AP, or a change ΔAP) and their JSON files.
// A pattern is a layers × heads matrix of float64, row-major: values[l * heads + h].
import { readFile } from 'node:fs/promises';
import { writeTextAtomic } from '../util/atomic_file.js';
import { VERSION } from '../version.js';
import { HeadgradError, HeadgradRangeError, HeadgradTypeError } from '../errors.js';

export interface Pattern {
  layers: number;
  heads: number;
  values: Float64Array;
}

/** Where a pattern came from, so a file can be traced to the model, data and seed that made it. */
export interface Provenance {
  modelHash: string;
  dataHash: string;
  samples: number;
  seed: number;
  task?: string;
  createdAt: string; // ISO 8601
  toolVersion: string;
  /** For a ΔAP: the provenance of the pattern that was subtracted. */
  before?: Provenance;
}

/** The on-disk form. `values` are the AP (|score| averaged per sample); `signed` optionally keeps the signed means. */
export interface PatternFile {
  format: 'headgrad-pattern';
  version: 1;
  kind: 'ap' | 'delta';
  layers: number;
  heads: number;
  values: number[];
  signed?: number[];
  provenance: Provenance;
}

/** A pattern read from a file: usable wherever a Pattern is, with the file's extras attached. */
export interface LoadedPattern extends Pattern {
  kind: 'ap' | 'delta';
  signed?: Float64Array;
  provenance: Provenance;
}

const FORMAT = 'headgrad-pattern';

function isPosInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0;
}

/** Builds a Pattern from plain numbers, checking the shape and that every value is finite. */
export function patternFromArray(layers: number, heads: number, values: ArrayLike<number>, what = 'pattern'): Pattern {
  if (!isPosInt(layers)) throw new HeadgradRangeError(`${what}: layers must be a positive integer, got ${JSON.stringify(layers)}`);
  if (!isPosInt(heads)) throw new HeadgradRangeError(`${what}: heads must be a positive integer, got ${JSON.stringify(heads)}`);
  if (values == null || typeof values.length !== 'number') {
    throw new HeadgradTypeError(`${what}: values must be an array of numbers, got ${typeof values}`);
  }
  if (values.length !== layers * heads) {
    throw new HeadgradRangeError(`${what}: values has ${values.length} numbers, expected layers × heads = ${layers} × ${heads} = ${layers * heads}`);
  }
  const out = Float64Array.from(values);
  const bad = out.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new HeadgradRangeError(`${what}: values[${bad}] must be a finite number, got ${values[bad]}`);
  return { layers, heads, values: out };
}

/** Throws unless the two patterns have the same layers × heads shape. */
export function assertSameShape(a: Pattern, b: Pattern, aName: string, bName: string): void {
  if (a.layers !== b.layers || a.heads !== b.heads) {
    throw new HeadgradRangeError(`${bName} is ${b.layers} × ${b.heads} (layers × heads) but ${aName} is ${a.layers} × ${a.heads}`);
  }
}

/** ΔAP = after − before, head by head (docs/method.md: AP after SFT − AP of the base model on the same data). */
export function deltaPattern(after: Pattern, before: Pattern): Pattern {
  assertSameShape(after, before, 'deltaPattern: after', 'deltaPattern: before');
  const values = new Float64Array(after.values.length);
  for (let i = 0; i < values.length; i++) values[i] = after.values[i]! - before.values[i]!;
  return { layers: after.layers, heads: after.heads, values };
}

export interface WritePatternOptions {
  kind?: 'ap' | 'delta';
  signed?: ArrayLike<number>;
  provenance: Omit<Provenance, 'createdAt' | 'toolVersion'> & Partial<Pick<Provenance, 'createdAt' | 'toolVersion'>>;
}

/** Writes a pattern file atomically (temp file in the same directory, then rename): a reader never sees half a file. */
export async function writePattern(path: string, pattern: Pattern, opts: WritePatternOptions): Promise<void> {
  const checked = patternFromArray(pattern.layers, pattern.heads, pattern.values, `writePattern(${path})`);
  const signed = opts.signed && patternFromArray(pattern.layers, pattern.heads, opts.signed, `writePattern(${path}): signed`);
  const file: PatternFile = {
    format: FORMAT,
    version: 1,
    kind: opts.kind ?? 'ap',
    layers: checked.layers,
    heads: checked.heads,
    values: Array.from(checked.values),
    ...(signed ? { signed: Array.from(signed.values) } : {}),
    provenance: { createdAt: new Date().toISOString(), toolVersion: VERSION, ...opts.provenance },
  };
  await writeTextAtomic(path, JSON.stringify(file) + '\n');
}

/** Reads and validates a pattern file; every error names the file and what is wrong with it. */
export async function readPattern(path: string): Promise<LoadedPattern> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `pattern file ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `pattern file ${path}: not valid JSON (truncated or corrupt?): ${(e as Error).message}`);
  }
  return parsePatternFile(json, `pattern file ${path}`);
}

function parsePatternFile(json: unknown, what: string): LoadedPattern {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: expected a JSON object`);
  const f = json as Record<string, unknown>;
  if (f.format !== FORMAT) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: "format" must be "${FORMAT}", got ${JSON.stringify(f.format)}`);
  if (f.version !== 1) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: unsupported version ${JSON.stringify(f.version)} (this tool reads version 1)`);
  if (f.kind !== 'ap' && f.kind !== 'delta') throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: "kind" must be "ap" or "delta", got ${JSON.stringify(f.kind)}`);
  if (!Array.isArray(f.values)) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: "values" must be an array of numbers`);
  if (f.signed !== undefined && !Array.isArray(f.signed)) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: "signed" must be an array of numbers`);
  const pattern = patternFromArray(f.layers as number, f.heads as number, f.values as number[], what);
  const signed = f.signed && patternFromArray(pattern.layers, pattern.heads, f.signed as number[], `${what}: signed`).values;
  return { ...pattern, kind: f.kind, ...(signed ? { signed } : {}), provenance: parseProvenance(f.provenance, what) };
}

function parseProvenance(p: unknown, what: string): Provenance {
  if (typeof p !== 'object' || p === null) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: "provenance" must be an object`);
  const r = p as Record<string, unknown>;
  for (const key of ['modelHash', 'dataHash', 'createdAt', 'toolVersion'] as const) {
    if (typeof r[key] !== 'string') throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: provenance.${key} must be a string, got ${JSON.stringify(r[key])}`);
  }
  for (const key of ['samples', 'seed'] as const) {
    if (typeof r[key] !== 'number' || !Number.isFinite(r[key])) {
      throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: provenance.${key} must be a number, got ${JSON.stringify(r[key])}`);
    }
  }
  if (r.task !== undefined && typeof r.task !== 'string') throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: provenance.task must be a string`);
  const before = r.before === undefined ? undefined : parseProvenance(r.before, `${what}: provenance.before`);
  return { ...(r as unknown as Provenance), ...(before ? { before } : {}) };
}
