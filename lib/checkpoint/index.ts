// Reading and writing GPT checkpoints in the canonical flat layout (layout.ts).
//   read:  (format detected: folder -> HF; .bin or llm.c magic -> llm.c; else safetensors)
//          a Hugging Face folder (hf_folder.ts: GPT-2, Llama, Mistral, Qwen2; one file or shards)
//          or a GPT-2 folder's model.safetensors, headgrad's own safetensors (config in
//          __metadata__), llm.c GPT-2 .bin (fp32 or bf16)
//   write: headgrad's own single file, safetensors F32 written atomically with
//          __metadata__ = { format: "headgrad", config: JSON of the GPTConfig }: a GPT-2 config
//          with HF GPT-2 names and Conv1D [in, out] layout (byte-identical to before), any other
//          config with the canonical tensor names and shapes of layout.ts (empty tensors left out).
//          A Hugging Face folder is written by hf_folder.ts (GPT.save to a folder).
// Non-finite parameters are refused on write (a diverged model must never replace a good file)
// and on read (the error names the tensor, where the engine could only name a flat index).
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isGpt2Config, parameterCount, parameterLayout, pickConfig, validateConfig, type GPTConfig } from './layout.js';
import { readHfFolder, readHfFolderConfig } from './hf_folder.js';
import { configFromHfJson, canonicalOffset, hfTensors, isIgnoredHfTensor, stripHfPrefix, toHfTensors, transpose2d } from './hf_gpt2.js';
import { hasLlmcMagic, readLlmc } from './llmc.js';
import { CheckpointError } from './errors.js';
import { readSafetensors, readSafetensorsHeader, tensorFloats, writeSafetensors, type SafetensorsFile, type SafetensorsLocation } from './safetensors.js';
import type { HfTensorSpec } from './hf_names.js';
import { describe } from '../validate.js';

export {
  parameterLayout, parameterCount, validateConfig, resolveConfig, pickConfig, isGpt2Config,
  type GPTConfig, type ParameterTensor, type ResolvedConfig, type RopeScaling,
} from './layout.js';
export { CheckpointError } from './errors.js';

export type CheckpointFormat = 'headgrad' | 'hf-gpt2' | 'hf-llama' | 'llmc';

export interface Checkpoint {
  config: GPTConfig;
  params: Float32Array;
  format: CheckpointFormat;
}

export async function readCheckpoint(file: string): Promise<Checkpoint> {
  if ((await stat(file)).isDirectory()) {
    const { config, params, modelType } = await readHfFolder(file);
    return { config, params, format: modelType === 'gpt2' ? 'hf-gpt2' : 'hf-llama' };
  }
  // by extension too, so that a .bin with a bad magic gets llm.c's error, not a safetensors one
  if (path.extname(file) === '.bin' || hasLlmcMagic(await readHead(file, 4))) return { ...(await readLlmc(file)), format: 'llmc' };
  const st = await readSafetensors(file);
  if (st.metadata.format === 'headgrad') {
    // A training checkpoint (training.ts) is a model checkpoint plus these: a plain read skips them.
    for (const name of TRAINING_TENSORS) st.tensors.delete(name);
    const config = configFromMetadata(st);
    return { config, params: isGpt2Config(config) ? paramsFromHf(st, config) : paramsFromCanonical(st, config), format: 'headgrad' };
  }
  const beside = path.join(path.dirname(file), 'config.json');
  if (!(await exists(beside))) {
    throw new CheckpointError(file, 'no model config: __metadata__ has no headgrad config and there is no config.json beside it');
  }
  const config = await readHfConfig(beside);
  return { config, params: paramsFromHf(st, config), format: 'hf-gpt2' };
}

/**
 * The config of a checkpoint without reading its weights (a folder's config.json, a safetensors
 * header); an llm.c .bin is small (GPT-2) and read whole.
 */
export async function readCheckpointConfig(file: string): Promise<GPTConfig> {
  if ((await stat(file)).isDirectory()) return (await readHfFolderConfig(file)).config;
  if (path.extname(file) === '.bin' || hasLlmcMagic(await readHead(file, 4))) return (await readLlmc(file)).config;
  const { metadata } = await readSafetensorsHeader(file);
  if (metadata.format === 'headgrad') return configFromMetadata({ file, metadata, tensors: new Map() });
  const beside = path.join(path.dirname(file), 'config.json');
  if (!(await exists(beside))) throw new CheckpointError(file, 'no model config: __metadata__ has no headgrad config and there is no config.json beside it');
  return readHfConfig(beside);
}

/**
 * A headgrad safetensors file with a canonical (non-GPT-2) config, planned for streaming like a
 * Hugging Face folder (hf_folder.ts streamHfFolder): its config and every tensor located by the
 * header alone, so a large model loads without reading the file whole. Null for any other file
 * (GPT-2 configs, llm.c, foreign safetensors): those are small and read by readCheckpoint.
 * A training checkpoint's optimizer tensors are skipped, as readCheckpoint skips them.
 */
export async function planOwnCheckpoint(file: string): Promise<{ config: GPTConfig; tensors: { spec: HfTensorSpec; loc: SafetensorsLocation }[] } | null> {
  if (path.extname(file) !== '.safetensors' || (await stat(file)).isDirectory()) return null;
  const { metadata, tensors } = await readSafetensorsHeader(file);
  if (metadata.format !== 'headgrad') return null;
  const config = configFromMetadata({ file, metadata, tensors: new Map() });
  if (isGpt2Config(config)) return null;
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  const layout = parameterLayout(config).filter((t) => t.size > 0);
  for (const name of tensors.keys()) {
    if (!(TRAINING_TENSORS as readonly string[]).includes(name) && !layout.some((t) => t.name === name)) fail(`unexpected tensor ${name} for the config in __metadata__`);
  }
  return {
    config,
    tensors: layout.map((t) => {
      const loc = tensors.get(t.name) ?? fail(`missing tensor ${t.name}`);
      if (!sameShape(loc.shape, t.shape)) fail(`tensor ${t.name} has shape ${JSON.stringify(loc.shape)}, expected ${JSON.stringify(t.shape)}`);
      return { spec: { name: t.name, shape: t.shape, offset: t.offset, transpose: false }, loc };
    }),
  };
}

/**
 * The optimizer tensors of a training checkpoint (training.ts): m, v flat [parameterCount] for
 * an f32 model; for a bf16 model m, v and master over its trainable set.
 */
export const TRAINING_TENSORS = ['optimizer.m', 'optimizer.v', 'optimizer.master'] as const;

/** Extra tensors and __metadata__ entries written beside the model (training.ts uses it). */
export interface CheckpointExtras {
  tensors: { name: string; shape: number[]; data: Float32Array }[];
  metadata: Record<string, string>;
}

/** How writeCheckpoint stores the parameters. */
export interface CheckpointWriteOptions {
  /**
   * A bf16 model's save: each tensor whose values are all bf16 numbers (the weights it holds as
   * bf16) is written as BF16, exactly; the others (f32 masters of trained slices, norm weights,
   * biases) as F32. `__metadata__.dtypes` names each tensor's dtype.
   */
  bf16Where?: 'exact';
}

// The top halves of f32 values that are bf16 numbers (low 16 bits zero), or undefined if one is not.
function exactBf16(data: Float32Array): Uint16Array | undefined {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if ((w & 0xffff) !== 0) return undefined;
    out[i] = w >>> 16;
  }
  return out;
}

export async function writeCheckpoint(file: string, config: GPTConfig, params: Float32Array, extras?: CheckpointExtras,
  o: CheckpointWriteOptions = {}): Promise<void> {
  validateConfig(config);
  const n = parameterCount(config);
  if (!(params instanceof Float32Array)) throw new TypeError(`params: expected a Float32Array, got ${describe(params)}`);
  if (params.length !== n) throw new RangeError(`params: expected ${n} floats for ${JSON.stringify(pickConfig(config))}, got ${params.length}`);
  const bad = params.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new RangeError(`params: element ${bad} is ${params[bad]}; refusing to write a non-finite checkpoint to ${file}`);
  const metadata = { ...extras?.metadata, format: 'headgrad', config: JSON.stringify(pickConfig(config)) };
  let tensors: { name: string; shape: number[]; data: Float32Array | Uint16Array }[] = isGpt2Config(config)
    ? toHfTensors(config, params)
    : parameterLayout(config).filter((t) => t.size > 0).map((t) => ({ name: t.name, shape: t.shape, data: params.subarray(t.offset, t.offset + t.size) }));
  if (o.bf16Where === 'exact') {
    tensors = tensors.map((t) => ({ ...t, data: exactBf16(t.data as Float32Array) ?? t.data }));
    (metadata as Record<string, string>).dtypes = JSON.stringify(Object.fromEntries(tensors.map((t) => [t.name, t.data instanceof Uint16Array ? 'BF16' : 'F32'])));
  }
  await writeSafetensors(file, [...tensors, ...(extras?.tensors ?? [])], metadata);
}

// The own format of a non-GPT-2 config: exactly the non-empty canonical tensors, by name.
function paramsFromCanonical(st: SafetensorsFile, config: GPTConfig): Float32Array {
  const fail = (problem: string): never => {
    throw new CheckpointError(st.file, problem);
  };
  const layout = parameterLayout(config).filter((t) => t.size > 0);
  const params = new Float32Array(parameterCount(config));
  for (const name of st.tensors.keys()) if (!layout.some((t) => t.name === name)) fail(`unexpected tensor ${name} for the config in __metadata__`);
  for (const t of layout) {
    const entry = st.tensors.get(t.name);
    if (!entry) fail(`missing tensor ${t.name}`);
    if (!sameShape(entry!.shape, t.shape)) fail(`tensor ${t.name} has shape ${JSON.stringify(entry!.shape)}, expected ${JSON.stringify(t.shape)}`);
    params.set(tensorFloats(entry!), t.offset);
  }
  return params;
}

// Fills the flat canonical array from HF-named tensors, checking that the file holds exactly
// the tensors the config implies (prefix `transformer.` optional, buffers and lm_head ignored).
function paramsFromHf(st: SafetensorsFile, config: GPTConfig): Float32Array {
  const fail = (problem: string): never => {
    throw new CheckpointError(st.file, problem);
  };
  const expected = new Map(hfTensors(config).map((t) => [t.name, t]));
  const params = new Float32Array(parameterCount(config));
  const seen = new Set<string>();
  for (const [fullName, entry] of st.tensors) {
    const name = stripHfPrefix(fullName);
    if (isIgnoredHfTensor(name)) continue;
    const t = expected.get(name);
    if (!t) fail(`unexpected tensor ${fullName} for ${describeConfig(config)}`);
    if (seen.has(name)) fail(`tensor ${name} appears twice (with and without the transformer. prefix)`);
    seen.add(name);
    if (!sameShape(entry.shape, t!.shape)) {
      fail(`tensor ${fullName} has shape ${JSON.stringify(entry.shape)}, expected ${JSON.stringify(t!.shape)} for ${describeConfig(config)}`);
    }
    const values = tensorFloats(entry);
    const bad = values.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) fail(`tensor ${fullName} element ${bad} is ${values[bad]}: a checkpoint with non-finite values cannot be loaded`);
    params.set(t!.transpose ? transpose2d(values, t!.shape[0]!, t!.shape[1]!) : values, canonicalOffset(config, t!));
  }
  const missing = [...expected.keys()].filter((k) => !seen.has(k));
  if (missing.length) {
    fail(`missing ${missing.length} tensor(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  }
  return params;
}

function configFromMetadata(st: SafetensorsFile): GPTConfig {
  let config: GPTConfig;
  try {
    config = pickConfig(JSON.parse(st.metadata.config ?? 'null'));
    validateConfig(config, '__metadata__.config');
  } catch (err) {
    throw new CheckpointError(st.file, `bad __metadata__.config: ${(err as Error).message}`);
  }
  return config;
}

async function readHfConfig(file: string): Promise<GPTConfig> {
  let config: GPTConfig;
  try {
    const text = await readFile(file, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`not valid JSON (${(err as Error).message})`);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`expected a JSON object, got ${Array.isArray(json) ? 'an array' : String(json)}`);
    config = configFromHfJson(json as Record<string, unknown>);
    validateConfig(config, 'config.json');
  } catch (err) {
    throw new CheckpointError(file, (err as Error).message);
  }
  return config;
}

async function readHead(file: string, n: number): Promise<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function describeConfig(c: GPTConfig): string {
  return `config V=${c.vocabSize} P=${c.maxSeqLen} L=${c.layers} heads=${c.heads} C=${c.dim}`;
}

