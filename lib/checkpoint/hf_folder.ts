// Hugging Face model folders: config.json plus model.safetensors, or the shards that
// model.safetensors.index.json lists, with F32, F16 or BF16 tensors.
//
// Reading is in two steps so that nothing large is read before everything checkable is checked:
//   planHfFolder:   config.json (an unsupported field fails here, naming it), every shard's
//                   header (a missing or truncated shard fails here), and the tensor set against
//                   the one the config implies (missing, unexpected, mis-shaped tensors fail here);
//   streamHfFolder: the weights, tensor by tensor in chunks of at most 16 MiB of file, handed
//                   to a sink at their canonical offset (BF16 as bits, F32 as is, F16 widened).
//                   With a model's imports as the sink, a load holds the model plus two chunks.
// Writing (writeHfFolder) streams the other way, from exportParameterRange, into a folder that
// transformers loads: config.json, then model.safetensors or model-0000i-of-0000n.safetensors
// shards with model.safetensors.index.json, F32, header metadata {"format": "pt"}. The folder is
// written beside the target and swapped in at the end, so a failed save leaves the old one.
import { copyFile, mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { bf16ToF32, decodeFloats, DTYPE_BYTES, f16ToF32, firstNonFinite } from './dtype.js';
import { CheckpointError } from './errors.js';
import { configFromHfJson } from './hf_gpt2.js';
import { isLlamaFamily, llamaConfigFromHf, llamaConfigToHf, llamaFamilyOf, type LlamaFamily } from './hf_llama_config.js';
import { gemmaConfigFromHf, gemmaConfigToHf, gemmaFamilyOf, isGemmaFamily } from './hf_gemma_config.js';
import { hfTensorSpecs, isIgnoredHfName, type HfModelType, type HfTensorSpec } from './hf_names.js';
import { isGpt2Config, parameterCount, pickConfig, validateConfig, type GPTConfig } from './layout.js';
import { f32SafetensorsHeader, readSafetensorsHeader, type SafetensorsLocation } from './safetensors.js';
import { transpose2d } from './hf_gpt2.js';
import { HeadgradError, HeadgradRangeError } from '../errors.js';

export interface HfFolderPlan {
  dir: string;
  modelType: HfModelType;
  config: GPTConfig;
  tensors: { spec: HfTensorSpec; loc: SafetensorsLocation }[];
}

const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';

/** The model type and GPTConfig of a folder's config.json (a folder without model_type is GPT-2, as before). */
export async function readHfFolderConfig(dir: string): Promise<{ modelType: HfModelType; config: GPTConfig }> {
  const file = path.join(dir, 'config.json');
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => fail(e.code === 'ENOENT' ? 'no such file: the model folder needs config.json' : e.message));
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(`expected a JSON object, got ${Array.isArray(json) ? 'an array' : String(json)}`);
  const type = json.model_type ?? 'gpt2';
  let config: GPTConfig;
  if (type === 'gpt2') config = configFromHfJson(json);
  else if (isLlamaFamily(type)) config = llamaConfigFromHf(json, fail);
  else if (isGemmaFamily(type)) config = gemmaConfigFromHf(json, fail);
  else if (type === 'gemma3' && json.text_config != null) {
    return fail('model_type "gemma3" is a multimodal Gemma 3 (Gemma3ForConditionalGeneration: a vision tower beside the text model, whose weights sit under language_model.*); only text models are supported (Gemma3ForCausalLM, model_type gemma3_text: the 1B, or a text-only export)');
  } else return fail(`model_type ${JSON.stringify(type)} is not supported (gpt2, llama, mistral, qwen2, qwen3, olmo2, phi3, gemma2 and gemma3_text are)`);
  try {
    validateConfig(config, 'config.json');
  } catch (e) {
    fail((e as Error).message);
  }
  return { modelType: type as HfModelType, config: pickConfig(config) };
}

/** Everything about a folder but its weights; throws (naming the file and field or tensor) on any problem. */
export async function planHfFolder(dir: string): Promise<HfFolderPlan> {
  const { modelType, config } = await readHfFolderConfig(dir);
  const files = await weightFiles(dir);
  const found = new Map<string, SafetensorsLocation>();
  for (const [file, names] of files) {
    const { tensors } = await readSafetensorsHeader(file);
    for (const [name, loc] of tensors) {
      if (names && !names.has(name)) continue; // in this shard's header, but the index puts it elsewhere
      const key = modelType === 'gpt2' && name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
      const prev = found.get(key);
      if (prev) throw new CheckpointError(file, `tensor ${name} is also in ${path.basename(prev.file)}`);
      found.set(key, loc);
    }
    for (const name of names ?? []) {
      if (!tensors.has(name)) throw new CheckpointError(file, `${INDEX} puts tensor ${name} in this shard, but its header does not have it`);
    }
  }
  const specs = hfTensorSpecs(modelType, config);
  const expected = new Set(specs.map((s) => s.name));
  for (const [name, loc] of found) {
    if (!expected.has(name) && !isIgnoredHfName(modelType, name, config)) {
      throw new CheckpointError(loc.file, `unexpected tensor ${loc.name} for ${describeConfig(modelType, config)}`);
    }
  }
  const missing = specs.filter((s) => !found.has(s.name)).map((s) => s.name);
  if (missing.length) {
    throw new CheckpointError(path.join(dir, files.size > 1 ? INDEX : SINGLE),
      `missing ${missing.length} tensor(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''} (for ${describeConfig(modelType, config)})`);
  }
  const tensors = specs.map((spec) => {
    const loc = found.get(spec.name)!;
    if (!sameShape(loc.shape, spec.shape)) {
      throw new CheckpointError(loc.file, `tensor ${loc.name} has shape ${JSON.stringify(loc.shape)}, expected ${JSON.stringify(spec.shape)} for ${describeConfig(modelType, config)}`);
    }
    return { spec, loc };
  });
  return { dir, modelType, config, tensors };
}

// The weight files and, for shards, the tensor names the index assigns to each.
async function weightFiles(dir: string): Promise<Map<string, Set<string> | null>> {
  const index = path.join(dir, INDEX);
  if (await isFile(index)) {
    let json: { weight_map?: unknown };
    try {
      json = JSON.parse(await readFile(index, 'utf8'));
    } catch (e) {
      throw new CheckpointError(index, `not valid JSON (${(e as Error).message})`);
    }
    const map = json?.weight_map;
    if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new CheckpointError(index, 'has no "weight_map" object');
    const files = new Map<string, Set<string>>();
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard.startsWith('.')) {
        throw new CheckpointError(index, `weight_map["${name}"] = ${JSON.stringify(shard)} is not a file name in the folder`);
      }
      const file = path.join(dir, shard);
      if (!files.has(file)) files.set(file, new Set());
      files.get(file)!.add(name);
    }
    for (const file of files.keys()) {
      if (!(await isFile(file))) throw new CheckpointError(index, `lists shard ${path.basename(file)}, which is missing from ${dir}`);
    }
    return files;
  }
  const single = path.join(dir, SINGLE);
  if (await isFile(single)) return new Map([[single, null]]);
  const bin = (await isFile(path.join(dir, 'pytorch_model.bin'))) ? ' (pytorch_model.bin is not read: convert it to safetensors)' : '';
  throw new CheckpointError(dir, `the model folder has neither ${SINGLE} nor ${INDEX}${bin}`);
}

/**
 * Where streamed weights go. Each call gets parameters [offset, offset + length) of the
 * canonical layout, in a buffer that is reused once the call returns. A sink refuses a
 * non-finite value by throwing (a model's imports do, in native code): the reader does not scan
 * the values itself, so each value is checked once, and it names the tensor and element when a
 * sink refuses.
 */
export interface ParameterSink {
  f32(offset: number, values: Float32Array): void;
  /** bf16 bits as a BF16 file stores them (no float round trip). */
  bf16(offset: number, bits: Uint16Array): void;
  /**
   * Optional: whole BF16 and F32 tensors of one file, read by the sink itself straight from the
   * disk (a model's importFile). segments: [fileOffset, bytes, paramOffset, dtype (0 F32, 1 BF16)]
   * per tensor, in file order. Resolves to {} or, for the segment where it stopped, the element
   * that is not finite or `ended` (the file ended early).
   */
  file?(path: string, segments: Float64Array): Promise<FileImportResult>;
}

export interface FileImportResult { segment?: number; element?: number; value?: number; ended?: boolean }

// One large read per chunk: 16 MiB of file.
const CHUNK_BYTES = 1 << 24;

/**
 * Reads the weights of a plan into `sink` in canonical order, one chunk (at most `chunkBytes`
 * of file) at a time: BF16 as bits, F32 as is, F16 widened to f32 through a table. The next
 * chunk is read while the sink takes the current one. A GPT-2 Conv1D tensor (transposed) is
 * read whole, as its rows are not canonical rows.
 */
export async function streamHfFolder(plan: Pick<HfFolderPlan, 'tensors'>, sink: ParameterSink, chunkBytes = CHUNK_BYTES): Promise<void> {
  // A sink that reads files itself takes every BF16 and F32 tensor in canonical row order, file by
  // file; the others (F16, GPT-2's transposed Conv1D weights) are streamed here.
  const direct = sink.file ? plan.tensors.filter(({ spec, loc }) => !spec.transpose && (loc.dtype === 'BF16' || loc.dtype === 'F32') && loc.byteLength > 0) : [];
  const byFile = new Map<string, typeof direct>();
  for (const t of direct) byFile.set(t.loc.file, [...(byFile.get(t.loc.file) ?? []), t]);
  for (const [file, tensors] of byFile) {
    tensors.sort((a, b) => a.loc.start - b.loc.start);
    const segments = new Float64Array(4 * tensors.length);
    tensors.forEach(({ spec, loc }, i) => segments.set([loc.start, loc.byteLength, spec.offset, loc.dtype === 'BF16' ? 1 : 0], 4 * i));
    const r = await sink.file!(file, segments);
    if (r.segment === undefined) continue;
    const { loc } = tensors[r.segment]!;
    if (r.ended) throw new CheckpointError(loc.file, `tensor ${loc.name}: the file ended early (truncated while reading?)`);
    throw new CheckpointError(loc.file, `tensor ${loc.name} element ${r.element} is ${r.value}: a checkpoint with non-finite values cannot be loaded`);
  }
  const jobs: ReadJob[] = [];
  for (const { spec, loc } of plan.tensors.filter((t) => !direct.includes(t))) {
    const width = DTYPE_BYTES[loc.dtype];
    const count = loc.byteLength / width;
    const step = spec.transpose ? count : Math.max(1, Math.floor(chunkBytes / width));
    for (let at = 0; at < count; at += step) jobs.push({ spec, loc, at, n: Math.min(step, count - at) });
  }
  const largest = jobs.reduce((m, j) => Math.max(m, j.n * DTYPE_BYTES[j.loc.dtype]), 0);
  // Two read buffers (8-byte aligned: their views are Float32Array or Uint16Array) and one f32
  // buffer for widened F16 values.
  const slots = [new ArrayBuffer(largest), new ArrayBuffer(largest)];
  let wide: Float32Array | undefined;
  const handles = new Map<string, FileHandle>();
  const handle = async (file: string) => {
    let fh = handles.get(file);
    if (!fh) handles.set(file, (fh = await open(file, 'r')));
    return fh;
  };
  try {
    let pending = jobs.length ? readJob(await handle(jobs[0]!.loc.file), jobs[0]!, slots[0]!) : undefined;
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      const bytes = await pending!;
      if (i + 1 < jobs.length) pending = readJob(await handle(jobs[i + 1]!.loc.file), jobs[i + 1]!, slots[(i + 1) % 2]!);
      const { spec, loc, at, n } = job;
      let values: Float32Array | Uint16Array;
      if (spec.transpose) {
        values = transpose2d(decodeFloats(bytes, loc.dtype), spec.shape[0]!, spec.shape[1]!);
      } else if (loc.dtype === 'F32') {
        values = new Float32Array(bytes.buffer, 0, n);
      } else if (loc.dtype === 'BF16') {
        values = new Uint16Array(bytes.buffer, 0, n);
      } else {
        if (!wide || wide.length < n) wide = new Float32Array(Math.floor(largest / 2));
        values = f16ToF32(new Uint16Array(bytes.buffer, 0, n), wide.subarray(0, n));
      }
      try {
        if (values instanceof Uint16Array) sink.bf16(spec.offset + at, values);
        else sink.f32(spec.offset + at, values);
      } catch (e) {
        const bad = firstNonFinite(values);
        if (bad < 0) throw e;
        const v = values instanceof Uint16Array ? bf16ToF32(values[bad]!) : values[bad]!;
        throw new CheckpointError(loc.file, `tensor ${loc.name} element ${at + bad} is ${v}: a checkpoint with non-finite values cannot be loaded`);
      }
    }
  } finally {
    for (const fh of handles.values()) await fh.close();
  }
}

interface ReadJob { spec: HfTensorSpec; loc: SafetensorsLocation; at: number; n: number }

// The job's bytes, read into the start of `slot` (a transposed tensor gets its own buffer).
async function readJob(fh: FileHandle, job: ReadJob, slot: ArrayBuffer): Promise<Uint8Array> {
  const width = DTYPE_BYTES[job.loc.dtype];
  const length = job.n * width;
  const bytes = job.spec.transpose ? new Uint8Array(length) : new Uint8Array(slot, 0, length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(bytes, done, length - done, job.loc.start + job.at * width + done);
    if (bytesRead === 0) throw new CheckpointError(job.loc.file, `tensor ${job.loc.name}: the file ended early (truncated while reading?)`);
    done += bytesRead;
  }
  return bytes;
}

/** All parameters of a folder as one array (for tools that need the whole vector anyway). */
export async function readHfFolder(dir: string): Promise<{ config: GPTConfig; params: Float32Array; modelType: HfModelType }> {
  const plan = await planHfFolder(dir);
  const params = new Float32Array(parameterCount(plan.config));
  const refuse = (values: Float32Array | Uint16Array) => {
    if (firstNonFinite(values) >= 0) throw new HeadgradRangeError('non-finite value');
  };
  await streamHfFolder(plan, {
    f32: (offset, values) => {
      refuse(values);
      params.set(values, offset);
    },
    bf16: (offset, bits) => {
      refuse(bits);
      params.set(decodeFloats(new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength), 'BF16'), offset);
    },
  });
  return { config: plan.config, params, modelType: plan.modelType };
}

// ---- writing ----

export interface WriteHfFolderOptions {
  /** Largest shard in bytes before the weights are split (default 5e9, as transformers). */
  maxShardBytes?: number;
  /** A folder whose tokenizer and generation files are copied along (the folder the model came from). */
  companionsFrom?: string;
  /** The model type the model was loaded as: kept when it describes the same computation (Phi-3 stays phi3, not mistral). */
  modelType?: HfModelType;
  /**
   * A bf16 model's save: each tensor whose values are all bf16 numbers (the weights it holds only
   * as bf16) is written as BF16, exactly; the others (f32 masters of trained slices, vectors that
   * are not bf16 numbers) as F32. Each shard's `__metadata__.dtypes` names every tensor's dtype,
   * and config.json's torch_dtype is 'bfloat16' when all are BF16, else 'float32' (lossless).
   */
  bf16Where?: 'exact';
}

type Dtype = 'F32' | 'BF16';
const dtypeBytes = (d: Dtype) => (d === 'BF16' ? 2 : 4);
const WRITE_CHUNK = 1 << 22; // floats exported per call while writing

// A config.json must read back to the config it was written from: a switch that the family's
// fields cannot say (Gemma's soft-caps on a Llama, a window pattern Qwen's rule cannot
// describe, ...) would otherwise be dropped silently and the folder compute another model.
function checkReadsBack(config: GPTConfig, hfConfig: Record<string, unknown>, family: HfModelType): void {
  const fail = (p: string): never => {
    throw new HeadgradRangeError(`config: a ${family} config.json cannot hold this model (${p})`);
  };
  const back = pickConfig(isGemmaFamily(family) ? gemmaConfigFromHf(hfConfig, fail) : llamaConfigFromHf(hfConfig, fail)) as unknown as Record<string, unknown>;
  const want = pickConfig(config) as unknown as Record<string, unknown>;
  const lost = [...new Set([...Object.keys(want), ...Object.keys(back)])].filter((k) => JSON.stringify(want[k]) !== JSON.stringify(back[k]));
  if (lost.length > 0) {
    throw new HeadgradRangeError(`config: ${lost.map((k) => `${k} ${JSON.stringify(want[k] ?? null)}`).join(', ')} cannot be written in a ${family} config.json (it would read back as ${lost.map((k) => JSON.stringify(back[k] ?? null)).join(', ')}); save to a .safetensors file (headgrad's own format) instead`);
  }
}

/** Files beside the weights that make a folder usable on its own: tokenizer and generation settings. */
const COMPANIONS = [
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'chat_template.jinja',
  'chat_template.json', 'tokenizer.model', 'vocab.json', 'merges.txt',
];

/**
 * Writes a model as a Hugging Face folder. read(offset, length) returns canonical parameters
 * [offset, offset + length) (a model's exportParameterRange). Non-finite parameters are refused
 * before the folder is replaced.
 */
export async function writeHfFolder(dir: string, config: GPTConfig, read: (offset: number, length: number) => Float32Array, o: WriteHfFolderOptions = {}): Promise<void> {
  validateConfig(config);
  const gpt2 = isGpt2Config(config);
  const gemma = gpt2 ? null : gemmaFamilyOf(config);
  const family = gpt2 ? undefined : gemma ?? llamaFamilyOf(config, o.modelType);
  const specs = gpt2 ? hfTensorSpecs('gpt2', config, { gpt2Prefix: 'transformer.' }) : hfTensorSpecs(family!, config);
  const hfConfig = gpt2 ? gpt2ConfigToHf(config) : gemma ? gemmaConfigToHf(config, gemma) : llamaConfigToHf(config, family as LlamaFamily);
  // A first pass over the values decides each tensor's dtype, as the headers come first.
  const dtypes = new Map<string, Dtype>(specs.map((s) => [s.name, o.bf16Where === 'exact' && allBf16(s, read) ? 'BF16' : 'F32']));
  // (a Gemma's torch_dtype is the dtype of its embedding scale, which transformers computes in it: kept)
  if (o.bf16Where === 'exact' && !gemma) hfConfig.torch_dtype = [...dtypes.values()].every((d) => d === 'BF16') ? 'bfloat16' : 'float32';
  if (!gpt2) checkReadsBack(config, hfConfig, family!);
  const maxShard = o.maxShardBytes ?? 5e9;
  const shards: HfTensorSpec[][] = [[]];
  let size = 0;
  for (const s of specs) {
    const bytes = s.shape.reduce((a, b) => a * b, 1) * dtypeBytes(dtypes.get(s.name)!);
    if (size > 0 && size + bytes > maxShard) {
      shards.push([]);
      size = 0;
    }
    shards.at(-1)!.push(s);
    size += bytes;
  }

  const target = path.resolve(dir);
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await mkdir(tmp);
  try {
    const n = shards.length;
    const names = shards.map((_, i) => (n === 1 ? SINGLE : `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`));
    const weightMap: Record<string, string> = {};
    let total = 0;
    for (const [i, shard] of shards.entries()) {
      await writeShard(path.join(tmp, names[i]!), shard, read, o.bf16Where ? dtypes : undefined);
      for (const s of shard) {
        weightMap[s.name] = names[i]!;
        total += s.shape.reduce((a, b) => a * b, 1) * dtypeBytes(dtypes.get(s.name)!);
      }
    }
    if (n > 1) await writeFile(path.join(tmp, INDEX), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n');
    await writeFile(path.join(tmp, 'config.json'), JSON.stringify(hfConfig, null, 2) + '\n');
    if (o.companionsFrom && path.resolve(o.companionsFrom) !== target) {
      for (const f of COMPANIONS) {
        const from = path.join(o.companionsFrom, f);
        if (await isFile(from)) await copyFile(from, path.join(tmp, f));
      }
    } else if (o.companionsFrom) {
      // saving over the folder the model came from: keep its companions
      for (const f of COMPANIONS) {
        const from = path.join(target, f);
        if (await isFile(from)) await copyFile(from, path.join(tmp, f));
      }
    }
    await swapIn(tmp, target);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

// Replaces `target` (absent, or a folder) with `tmp` by renames; the old folder goes last.
async function swapIn(tmp: string, target: string): Promise<void> {
  const old = await stat(target).catch(() => undefined);
  if (!old) return rename(tmp, target);
  if (!old.isDirectory()) throw new HeadgradError('ERR_HEADGRAD_CHECKPOINT', `${target} exists and is not a folder; a Hugging Face folder cannot replace it`);
  const aside = `${tmp}.old`;
  await rename(target, aside);
  await rename(tmp, target);
  await rm(aside, { recursive: true, force: true });
}

// Whether every value of a tensor is a bf16 number (the low 16 bits of its f32 bits zero).
function allBf16(s: HfTensorSpec, read: (offset: number, length: number) => Float32Array): boolean {
  const count = s.shape.reduce((a, b) => a * b, 1);
  for (let at = 0; at < count; at += WRITE_CHUNK) {
    const values = read(s.offset + at, Math.min(WRITE_CHUNK, count - at));
    const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < words.length; i++) if ((words[i]! & 0xffff) !== 0) return false;
  }
  return true;
}

// dtypes: each tensor's (all F32 without); BF16 tensors are written as the top halves of their
// f32 values, which the first pass found to be bf16 numbers.
async function writeShard(file: string, specs: HfTensorSpec[], read: (offset: number, length: number) => Float32Array,
  dtypes?: Map<string, Dtype>): Promise<void> {
  const dtype = (s: HfTensorSpec): Dtype => dtypes?.get(s.name) ?? 'F32';
  const metadata: Record<string, string> = { format: 'pt' };
  if (dtypes) metadata.dtypes = JSON.stringify(Object.fromEntries(specs.map((s) => [s.name, dtype(s)])));
  const head = f32SafetensorsHeader(specs.map((s) => ({ ...s, dtype: dtype(s) })), metadata);
  const fh = await open(file, 'wx');
  try {
    await fh.write(head);
    for (const s of specs) {
      const count = s.shape.reduce((a, b) => a * b, 1);
      const step = s.transpose ? count : WRITE_CHUNK;
      for (let at = 0; at < count; at += step) {
        let values = read(s.offset + at, Math.min(step, count - at));
        const bad = values.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0) throw new HeadgradRangeError(`parameter ${s.offset + at + bad} (${s.name}) is ${values[bad]}; refusing to write a non-finite checkpoint to ${path.dirname(file)}`);
        // canonical [out, in] -> HF Conv1D [in, out] = shape
        if (s.transpose) values = transpose2d(values, s.shape[1]!, s.shape[0]!);
        if (dtype(s) === 'BF16') {
          const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
          const top = new Uint16Array(words.length);
          for (let i = 0; i < words.length; i++) top[i] = words[i]! >>> 16;
          await fh.write(new Uint8Array(top.buffer));
        } else {
          await fh.write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
        }
      }
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function gpt2ConfigToHf(c: GPTConfig): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: c.vocabSize, n_positions: c.maxSeqLen, n_ctx: c.maxSeqLen,
    n_layer: c.layers, n_head: c.heads, n_embd: c.dim, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5,
    tie_word_embeddings: true, torch_dtype: 'float32',
  };
}

function describeConfig(type: HfModelType, c: GPTConfig): string {
  return `${type} V=${c.vocabSize} L=${c.layers} heads=${c.heads}${c.kvHeads && c.kvHeads !== c.heads ? ` kv=${c.kvHeads}` : ''} C=${c.dim}`;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}
