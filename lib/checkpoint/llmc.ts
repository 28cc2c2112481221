// llm.c's GPT-2 checkpoint (train_gpt2.c, gpt2_build_from_checkpoint): a header of 256 int32
// [0] magic 20240326, [1] version (3 = fp32, 5 = bf16), [2] maxT, [3] V, [4] L, [5] NH, [6] C,
// [7] Vp (vocabulary padded for the kernels); then the 16 tensors in canonical order, except
// that wte has Vp rows. The padded rows are never used by real tokens and are dropped.
import { readFile } from 'node:fs/promises';
import { decodeFloats, DTYPE_BYTES, type DType } from './dtype.js';
import { parameterCount, validateConfig, type GPTConfig } from './layout.js';
import { CheckpointError } from './errors.js';

export const LLMC_MAGIC = 20240326;
const HEADER_INTS = 256;
const VERSION_DTYPE: Record<number, DType> = { 3: 'F32', 5: 'BF16' };

export async function readLlmc(file: string): Promise<{ config: GPTConfig; params: Float32Array }> {
  const buf = await readFile(file);
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  if (buf.length < HEADER_INTS * 4) fail(`file is ${buf.length} bytes, shorter than the llm.c header (1024 bytes)`);
  const h = (i: number) => buf.readInt32LE(i * 4);
  if (h(0) !== LLMC_MAGIC) fail(`bad magic ${h(0)}, expected ${LLMC_MAGIC}: not an llm.c GPT-2 checkpoint`);
  const dtype = VERSION_DTYPE[h(1)];
  if (!dtype) fail(`unsupported llm.c version ${h(1)} (3 = fp32 and 5 = bf16 are supported)`);
  const config: GPTConfig = { maxSeqLen: h(2), vocabSize: h(3), layers: h(4), heads: h(5), dim: h(6) };
  try {
    validateConfig(config, 'llm.c header');
  } catch (err) {
    fail((err as Error).message);
  }
  const paddedVocab = h(7);
  if (paddedVocab < config.vocabSize) fail(`padded vocabulary ${paddedVocab} is smaller than the vocabulary ${config.vocabSize}`);

  const C = config.dim;
  const padRows = (paddedVocab - config.vocabSize) * C;
  const count = parameterCount(config);
  const need = HEADER_INTS * 4 + (count + padRows) * DTYPE_BYTES[dtype!];
  if (buf.length !== need) {
    fail(`${buf.length} bytes, expected ${need} for ${JSON.stringify(config)} with padded vocabulary ${paddedVocab}` +
      (buf.length < need ? ': truncated' : ': trailing data'));
  }
  const all = decodeFloats(buf.subarray(HEADER_INTS * 4), dtype!);
  const params = new Float32Array(count);
  const wte = config.vocabSize * C;
  params.set(all.subarray(0, wte), 0);
  params.set(all.subarray(wte + padRows), wte);
  const bad = params.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new CheckpointError(file, `parameter ${bad} is ${params[bad]}: a checkpoint with non-finite values cannot be loaded`);
  return { config, params };
}

/** True when the first four bytes are the llm.c magic. */
export function hasLlmcMagic(head: Uint8Array): boolean {
  return head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getInt32(0, true) === LLMC_MAGIC;
}
