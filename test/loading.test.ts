// Loading Hugging Face folders into a model (GPT.load, lib/checkpoint/hf_folder.ts): BF16
// tensors go in as bits (importParameterRangeBf16), F16 are widened in chunks, F32 as is; the
// engine starts zeroed (no random initialisation) and every parameter is imported; each value is
// checked once, by the native import, and a refused value is named by file, tensor and element.
// Folders are written by the tests' own writers (helpers/hf_llama_folder.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GPT, parameterCount, parameterLayout, type GPTConfig } from '../lib/index.js';
import { planHfFolder, streamHfFolder } from '../lib/checkpoint/hf_folder.js';
import { Rng } from '../lib/util/random.js';
import { writeHfLlamaFolder } from './helpers/hf_llama_folder.js';
import { rejects } from './helpers/rejects.js';
import { testSeed } from './helpers/seed.js';
import { suiteTempDir } from './helpers/temp_dir.js';

const dir = suiteTempDir(test, 'loading');
const rng = new Rng(testSeed('loading'));
const cfg: GPTConfig = {
  vocabSize: 37, maxSeqLen: 16, layers: 2, heads: 4, kvHeads: 2, dim: 16, ffnDim: 24, norm: 'rmsnorm',
  positions: 'rope', mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false,
};
const n = parameterCount(cfg);

// k/64 with |k| <= 128: exact in f32, f16 and bf16 alike, so every path must reproduce it bit for bit.
const exact = () => Float32Array.from({ length: n }, () => (rng.int(257) - 128) / 64);
// bf16 values drawn at random (normal, truncated to bf16), with the full 8-bit exponent range in use.
const bf16Values = () => {
  const bits = new Uint32Array(n);
  const f = new Float32Array(bits.buffer);
  for (let i = 0; i < n; i++) f[i] = rng.normal() * 2 ** (rng.int(40) - 20);
  for (let i = 0; i < n; i++) bits[i] = bits[i]! & 0xffff0000;
  return f;
};
const same = (a: Float32Array, b: Float32Array, what: string) => {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const bad = ua.findIndex((x, i) => x !== ub[i]);
  assert.is(bad, -1, `${what}: element ${bad} is ${a[bad]}, expected ${b[bad]}`);
};

test('a BF16 folder round trip is exact, in an f32 and a bf16 model, one shard or three', async () => {
  const params = bf16Values();
  for (const shards of [1, 3]) {
    const folder = path.join(dir, `bf16-${shards}`);
    await writeHfLlamaFolder(folder, 'llama', cfg, params, { dtype: 'BF16', shards });
    for (const precision of ['f32', 'bf16'] as const) {
      using model = await GPT.load(folder, { precision, device: 'cpu' });
      same(model.exportParameters(), params, `${shards} shard(s), ${precision}`);
    }
  }
});

test('F16 and F32 folders load exactly, in an f32 and a bf16 model', async () => {
  const params = exact();
  for (const dtype of ['F16', 'F32'] as const) {
    const folder = path.join(dir, dtype);
    await writeHfLlamaFolder(folder, 'llama', cfg, params, { dtype });
    for (const precision of ['f32', 'bf16'] as const) {
      using model = await GPT.load(folder, { precision, device: 'cpu' });
      same(model.exportParameters(), params, `${dtype} into ${precision}`);
    }
  }
});

test('chunk boundaries: a stream in 6-byte chunks hands the sink the same values at the same offsets', async () => {
  const params = bf16Values();
  for (const dtype of ['BF16', 'F16', 'F32'] as const) {
    const folder = path.join(dir, `chunks-${dtype}`);
    const values = dtype === 'BF16' ? params : exact();
    await writeHfLlamaFolder(folder, 'llama', cfg, values, { dtype, shards: 2 });
    const plan = await planHfFolder(folder);
    const got = new Float32Array(n).fill(NaN);
    let calls = 0;
    await streamHfFolder(plan, {
      f32: (offset, v) => {
        calls++;
        got.set(v, offset);
      },
      bf16: (offset, bits) => {
        calls++;
        got.set(Float32Array.from(bits, (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]!), offset);
      },
    }, 6);
    same(got, values, dtype);
    assert.ok(calls >= n / 3, `${dtype}: ${calls} sink calls for ${n} values in 6-byte chunks`);
  }
});

test('importParameterRangeBf16 equals importParameterRange of the widened values, bit for bit', async () => {
  const params = bf16Values();
  const bits = new Uint16Array(n);
  const u32 = new Uint32Array(params.buffer);
  for (let i = 0; i < n; i++) bits[i] = u32[i]! >>> 16;
  using a = await GPT.create({ ...cfg, seed: 1, device: 'cpu' });
  using b = await GPT.create({ ...cfg, seed: 2, device: 'cpu' });
  const cut = 1000;
  a.importParameterRangeBf16(0, bits.subarray(0, cut));
  a.importParameterRangeBf16(cut, bits.subarray(cut));
  b.importParameterRange(0, params);
  same(a.exportParameters(), b.exportParameters(), 'bf16 import');
  const tokens = Int32Array.from({ length: 16 }, () => rng.int(cfg.vocabSize));
  const targets = Int32Array.from({ length: 16 }, () => rng.int(cfg.vocabSize));
  const la = await a.forward(tokens, { batch: 2, seqLen: 8, targets });
  const lb = await b.forward(tokens, { batch: 2, seqLen: 8, targets });
  assert.is(la.loss, lb.loss);
  assert.throws(() => a.importParameterRangeBf16(0, new Float32Array(4) as never), /bits: expected a Uint16Array of bf16 bits, got Float32Array/);
  assert.throws(() => a.importParameterRangeBf16(n - 1, new Uint16Array(2)), new RegExp(`bits: offset ${n - 1} \\+ length 2 exceeds the ${n} parameters`));
  assert.throws(() => a.importParameterRangeBf16(0, Uint16Array.of(0x3f80, 0x7fc0)), /bits: expected finite bf16 values, got NaN at index 1/);
  assert.throws(() => a.importParameterRangeBf16(0, Uint16Array.of(0xff80)), /bits: expected finite bf16 values, got -Infinity at index 0/);
});

// The bits of each non-finite value per dtype, written over a finite one in the file (the
// tests' writer encodes finite values only).
const NON_FINITE = {
  BF16: { NaN: [0xc0, 0x7f], Infinity: [0x80, 0x7f], '-Infinity': [0x80, 0xff] },
  F16: { NaN: [0x00, 0x7e], Infinity: [0x00, 0x7c], '-Infinity': [0x00, 0xfc] },
  F32: { NaN: [0, 0, 0xc0, 0x7f], Infinity: [0, 0, 0x80, 0x7f], '-Infinity': [0, 0, 0x80, 0xff] },
} as const;

test('a NaN or Inf in a BF16, F16 or F32 folder is refused by GPT.load, naming the file, tensor and element', async () => {
  for (const dtype of ['BF16', 'F16', 'F32'] as const) {
    for (const what of ['NaN', 'Infinity', '-Infinity'] as const) {
      const folder = path.join(dir, `bad-${dtype}-${what}`);
      await writeHfLlamaFolder(folder, 'llama', cfg, exact(), { dtype });
      const file = path.join(folder, 'model.safetensors');
      const bytes = await readFile(file);
      const headerLen = Number(bytes.readBigUInt64LE(0));
      const entry = JSON.parse(bytes.subarray(8, 8 + headerLen).toString())['model.norm.weight'];
      const at = 8 + headerLen + entry.data_offsets[0] + 5 * NON_FINITE[dtype][what].length;
      bytes.set(NON_FINITE[dtype][what], at);
      await writeFile(file, bytes);
      await rejects(GPT.load(folder, { device: 'cpu' }),
        new RegExp(`model\\.safetensors: tensor model\\.norm\\.weight element 5 is ${what}: a checkpoint with non-finite values cannot be loaded`));
    }
  }
});

test('own safetensors files stream like folders: exact, training checkpoints too, a NaN named', async () => {
  const params = exact();
  using src = await GPT.create({ ...cfg, seed: 3, device: 'cpu' });
  src.importParameters(params);
  const file = path.join(dir, 'own.safetensors');
  await src.save(file);
  for (const precision of ['f32', 'bf16'] as const) {
    using model = await GPT.load(file, { device: 'cpu', precision });
    same(model.exportParameters(), params, `own safetensors into ${precision}`);
  }
  // a training checkpoint: the model tensors load, the optimizer's are skipped
  const { writeTrainingCheckpoint } = await import('../lib/checkpoint/training.js');
  const withState = path.join(dir, 'training.safetensors');
  await writeTrainingCheckpoint(withState, cfg, params, { m: new Float32Array(n), v: new Float32Array(n), step: 1 }, {});
  using resumed = await GPT.load(withState, { device: 'cpu' });
  same(resumed.exportParameters(), params, 'training checkpoint');
  // a NaN in the file: named by tensor and element
  const bytes = await readFile(file);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const entry = JSON.parse(bytes.subarray(8, 8 + headerLen).toString()).fcprojw;
  bytes.set(NON_FINITE.F32.NaN, 8 + headerLen + entry.data_offsets[0] + 4 * 9);
  await writeFile(path.join(dir, 'nan.safetensors'), bytes);
  await rejects(GPT.load(path.join(dir, 'nan.safetensors'), { device: 'cpu' }), /nan\.safetensors: tensor fcprojw element 9 is NaN/);
  await writeFile(path.join(dir, 'not-a-model.safetensors'), 'x');
  await rejects(GPT.load(path.join(dir, 'not-a-model.safetensors')), /not-a-model\.safetensors: file is 1 bytes/);
});

test.run();
