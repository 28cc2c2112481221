// Partial activation patterns: what `headgrad patterns --shard K/N` writes, so a large dataset
// can be split over processes or machines, and `headgrad patterns merge` adds up.
//
// A partial holds, per head, the exact sums of |score| and of the signed score over its shard's
// samples (exact_sum.ts: hexadecimal integers in units of 2^-149), the number of samples, which
// shard it is, and the provenance of the whole run (model hash, hash of ALL the run's samples,
// their number, the batch size that fixes the batch plan). Merging checks that the partials
// belong to one run and cover its shards exactly once, adds the sums exactly, and divides once:
// the result is the pattern a single run gives, bit for bit, when the shards ran on the same
// backend with the same thread count (the engine's per-sample scores are deterministic there;
// across machines they may differ in the last f32 bits, and the merge is then exact over those).
import { readFile } from 'node:fs/promises';
import { writeTextAtomic } from '../util/atomic_file.js';
import { VERSION } from '../version.js';
import { ExactSums } from './exact_sum.js';
import { patternFromSums, type ActivationPattern, type ActivationSums, type ShardSpec } from './activation.js';
import type { Provenance } from './pattern.js';
import { HeadgradError } from '../errors.js';

export interface PartialPattern {
  sums: ActivationSums;
  shard: ShardSpec & { batchSize: number };
  /** The whole run's provenance: `samples` and `dataHash` cover all shards. */
  provenance: Provenance;
}

interface PartialFile {
  format: 'headgrad-pattern-partial';
  version: 1;
  layers: number;
  heads: number;
  count: number;
  shard: { index: number; of: number; batchSize: number };
  sums: { abs: string[]; signed: string[] };
  provenance: Provenance;
}

const FORMAT = 'headgrad-pattern-partial';

export async function writePartial(file: string, p: PartialPattern): Promise<void> {
  const f: PartialFile = {
    format: FORMAT, version: 1, layers: p.sums.layers, heads: p.sums.heads, count: p.sums.count,
    shard: { index: p.shard.index, of: p.shard.of, batchSize: p.shard.batchSize },
    sums: { abs: p.sums.abs.toJSON(), signed: p.sums.signed.toJSON() },
    provenance: { ...p.provenance, createdAt: p.provenance.createdAt ?? new Date().toISOString(), toolVersion: p.provenance.toolVersion ?? VERSION },
  };
  await writeTextAtomic(file, JSON.stringify(f) + '\n');
}

export async function readPartial(file: string): Promise<PartialPattern> {
  const what = `partial pattern ${file}`;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: ${code === 'ENOENT' ? 'no such file' : `not readable JSON (${(e as Error).message})`}`);
  }
  const f = json as Partial<PartialFile>;
  if (f?.format !== FORMAT) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: "format" must be "${FORMAT}", got ${JSON.stringify(f?.format)} (merge takes the files of patterns --shard)`);
  if (f.version !== 1) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: unsupported version ${JSON.stringify(f.version)}`);
  const posInt = (v: unknown, name: string, min = 1) => {
    if (!Number.isInteger(v) || (v as number) < min) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const layers = posInt(f.layers, 'layers');
  const heads = posInt(f.heads, 'heads');
  const count = posInt(f.count, 'count', 0);
  const shard = { index: posInt(f.shard?.index, 'shard.index'), of: posInt(f.shard?.of, 'shard.of'), batchSize: posInt(f.shard?.batchSize, 'shard.batchSize') };
  if (shard.index > shard.of) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: shard ${shard.index}/${shard.of} is out of range`);
  const abs = ExactSums.fromJSON(f.sums?.abs, layers * heads, `${what}: sums.abs`);
  const signed = ExactSums.fromJSON(f.sums?.signed, layers * heads, `${what}: sums.signed`);
  const p = f.provenance as Provenance | undefined;
  if (!p || typeof p.modelHash !== 'string' || typeof p.dataHash !== 'string' || !Number.isInteger(p.samples)) {
    throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `${what}: provenance must have modelHash, dataHash and samples`);
  }
  return { sums: { layers, heads, abs, signed, count }, shard, provenance: p };
}

/**
 * The pattern of the whole run from its partials (in any order). Throws, naming the file, when a
 * partial is from another run (model, data, shape, batch size, shard count) or when shards are
 * missing or repeated.
 */
export function mergePartials(parts: { file: string; partial: PartialPattern }[]): { pattern: ActivationPattern; provenance: Provenance } {
  if (parts.length === 0) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', 'patterns merge: no partial files given');
  const [first, ...rest] = parts;
  const ref = first!.partial;
  const same = (file: string, what: string, a: unknown, b: unknown) => {
    if (a !== b) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `patterns merge: ${file} has ${what} ${JSON.stringify(a)} but ${first!.file} has ${JSON.stringify(b)}: not shards of one run`);
  };
  for (const { file, partial: p } of rest) {
    same(file, 'layers', p.sums.layers, ref.sums.layers);
    same(file, 'heads', p.sums.heads, ref.sums.heads);
    same(file, 'shard count', p.shard.of, ref.shard.of);
    same(file, 'batch size', p.shard.batchSize, ref.shard.batchSize);
    same(file, 'provenance.modelHash', p.provenance.modelHash, ref.provenance.modelHash);
    same(file, 'provenance.dataHash', p.provenance.dataHash, ref.provenance.dataHash);
    same(file, 'provenance.samples', p.provenance.samples, ref.provenance.samples);
  }
  const seen = new Map<number, string>();
  for (const { file, partial: p } of parts) {
    const prev = seen.get(p.shard.index);
    if (prev) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `patterns merge: shard ${p.shard.index}/${p.shard.of} is given twice (${prev} and ${file})`);
    seen.set(p.shard.index, file);
  }
  const missing = Array.from({ length: ref.shard.of }, (_, i) => i + 1).filter((k) => !seen.has(k));
  if (missing.length) throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `patterns merge: missing shard(s) ${missing.map((k) => `${k}/${ref.shard.of}`).join(', ')}`);
  const abs = new ExactSums(ref.sums.abs.length);
  const signed = new ExactSums(ref.sums.signed.length);
  let count = 0;
  for (const { partial: p } of parts) {
    abs.addAll(p.sums.abs);
    signed.addAll(p.sums.signed);
    count += p.sums.count;
  }
  if (count !== ref.provenance.samples) {
    throw new HeadgradError('ERR_HEADGRAD_PATTERN_FILE', `patterns merge: the shards hold ${count} samples but the run has ${ref.provenance.samples}`);
  }
  const pattern = patternFromSums({ layers: ref.sums.layers, heads: ref.sums.heads, abs, signed, count });
  const { createdAt: _c, toolVersion: _t, ...whole } = ref.provenance;
  return { pattern, provenance: { ...whole, createdAt: new Date().toISOString(), toolVersion: VERSION } };
}
