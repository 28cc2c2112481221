import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  parameterCount, parameterLayout, readCheckpoint, validateConfig, writeCheckpoint, type GPTConfig,
} from '../lib/checkpoint/index.js';
import { writeFileAtomic } from '../lib/util/atomic_file.js';
import { Rng } from '../lib/util/random.js';
import { hfStateDict as hfStateDictOf, hfConfigJson as hfConfigJsonOf, llmcBytes as llmcBytesOf, safetensorsBytes } from './helpers/checkpoint_writers.js';
import { rejects } from './helpers/rejects.js';
import { suiteTempDir } from './helpers/temp_dir.js';

// Odd sizes on purpose: 2 layers, 3 heads of size 2, a vocabulary that is not a multiple of anything.
const cfg: GPTConfig = { vocabSize: 11, maxSeqLen: 5, layers: 2, heads: 3, dim: 6 };
const dir = suiteTempDir(test, 'ckpt');

// Values k/64 with |k| <= 128 are exact in f32, f16 and bf16, so every format must read back
// bitwise-identical canonical parameters.
function randomParams(seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: parameterCount(cfg) }, () => (r.int(257) - 128) / 64);
}

const hfStateDict = (params: Float32Array) => hfStateDictOf(cfg, params);
const hfConfigJson = hfConfigJsonOf(cfg);
const llmcBytes = (params: Float32Array, opts?: Parameters<typeof llmcBytesOf>[2]) => llmcBytesOf(cfg, params, opts);

async function put(name: string, data: Uint8Array | string): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, data);
  return file;
}

// ---- layout ----

test('layout: canonical names, contiguous offsets, GPT-2 small parameter count', () => {
  const layout = parameterLayout(cfg);
  assert.equal(layout.map((t) => t.name), [
    'wte', 'wpe', 'ln1w', 'ln1b', 'qkvw', 'qkvb', 'attprojw', 'attprojb',
    'ln2w', 'ln2b', 'fcw', 'fcb', 'fcprojw', 'fcprojb', 'lnfw', 'lnfb', 'lmhead',
    'qnw', 'knw', 'postattnw', 'postffnw', // the later families' switches (docs/families.md): empty for GPT-2
  ]);
  assert.is(layout.find((t) => t.name === 'lmhead')!.size, 0); // tied head: lmhead is empty
  assert.ok(layout.slice(-4).every((t) => t.size === 0));
  let off = 0;
  for (const t of layout) {
    assert.is(t.offset, off);
    assert.is(t.size, t.shape.reduce((a, b) => a * b, 1));
    off += t.size;
  }
  assert.equal(layout[4]!.shape, [2, 18, 6]);
  // GPT-2 124M with the tied head and the unpadded vocabulary
  assert.is(parameterCount({ vocabSize: 50257, maxSeqLen: 1024, layers: 12, heads: 12, dim: 768 }), 124439808);
});

test('validateConfig names the bad field', () => {
  assert.throws(() => validateConfig({ ...cfg, layers: 0 }), /config\.layers: expected a positive integer, got 0/);
  assert.throws(() => validateConfig({ ...cfg, heads: 1.5 }), /config\.heads/);
  assert.throws(() => validateConfig({ ...cfg, heads: 4 }), /dim \(6\) must be divisible by heads \(4\)/);
  assert.throws(() => validateConfig({ ...cfg, vocabSize: '11' as unknown as number }), /vocabSize.*"11"/);
});

// ---- formats ----

test('own safetensors: write then read is bitwise identical, with HF names and layout', async () => {
  const params = randomParams(1);
  const file = path.join(dir, 'own.safetensors');
  await writeCheckpoint(file, cfg, params);
  const ck = await readCheckpoint(file);
  assert.is(ck.format, 'headgrad');
  assert.equal(ck.config, cfg);
  assert.equal(Array.from(ck.params), Array.from(params));
  const buf = await readFile(file);
  const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString());
  assert.equal(header['h.1.attn.c_attn.weight'].shape, [6, 18]);
  assert.equal(JSON.parse(header.__metadata__.config), cfg);
  assert.is(header.__metadata__.format, 'headgrad');
  assert.is((8 + Number(buf.readBigUInt64LE(0))) % 8, 0, 'data section is 8-byte aligned');
});

test('llm.c .bin (fp32 and bf16, padded vocabulary) reads to the same canonical params', async () => {
  const params = randomParams(2);
  for (const version of [3, 5]) {
    const ck = await readCheckpoint(await put(`gpt2_v${version}.bin`, llmcBytes(params, { version })));
    assert.is(ck.format, 'llmc');
    assert.equal(ck.config, cfg);
    assert.equal(Array.from(ck.params), Array.from(params), `version ${version}`);
  }
});

test('HF GPT-2 folder, its model.safetensors, and an F16/BF16 variant read to the same params', async () => {
  const params = randomParams(3);
  await put('hf/config.json', hfConfigJson);
  await put('hf/model.safetensors', safetensorsBytes(hfStateDict(params), 'F32', { format: 'pt' }));
  for (const p of [path.join(dir, 'hf'), path.join(dir, 'hf/model.safetensors')]) {
    const ck = await readCheckpoint(p);
    assert.is(ck.format, 'hf-gpt2');
    assert.equal(ck.config, cfg);
    assert.equal(Array.from(ck.params), Array.from(params), p);
  }
  for (const dtype of ['F16', 'BF16'] as const) {
    await put(`hf_${dtype}/config.json`, hfConfigJson);
    // without the transformer. prefix this time
    const sd = hfStateDict(params).map(([n, s, v]) => [n.replace(/^transformer\./, ''), s, v] as [string, number[], Float32Array]);
    await put(`hf_${dtype}/model.safetensors`, safetensorsBytes(sd, dtype));
    const ck = await readCheckpoint(path.join(dir, `hf_${dtype}`));
    assert.equal(Array.from(ck.params), Array.from(params), dtype);
  }
});

// ---- corrupt and mismatched files ----

test('truncated, corrupted or mismatched safetensors give errors naming the file and the problem', async () => {
  const params = randomParams(4);
  await put('bad/config.json', hfConfigJson);
  const good = safetensorsBytes(hfStateDict(params), 'F32');
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated.safetensors', good.subarray(0, good.length - 10), /truncated\.safetensors: tensor .* lie outside the data section/],
    ['tiny.safetensors', good.subarray(0, 5), /tiny\.safetensors: file is 5 bytes/],
    ['header_cut.safetensors', good.subarray(0, 50), /header_cut\.safetensors: header length \d+ exceeds the file/],
  ];
  const corrupt = Buffer.from(good);
  corrupt.write('#', 8); // the header's opening brace
  cases.push(['corrupt.safetensors', corrupt, /corrupt\.safetensors: header is not valid JSON/]);
  const sd = hfStateDict(params);
  const wrongShape = sd.map(([n, s, v]) => (n.endsWith('h.1.attn.c_attn.weight') ? [n, [18, 6], v] : [n, s, v]) as typeof sd[0]);
  cases.push(['shape.safetensors', safetensorsBytes(wrongShape, 'F32'),
    /shape\.safetensors: tensor transformer\.h\.1\.attn\.c_attn\.weight has shape \[18,6\], expected \[6,18\]/]);
  cases.push(['missing.safetensors', safetensorsBytes(sd.filter(([n]) => !n.endsWith('ln_f.bias')), 'F32'),
    /missing\.safetensors: missing 1 tensor\(s\): ln_f\.bias/]);
  cases.push(['extra.safetensors', safetensorsBytes([...sd, ['transformer.h.2.ln_1.weight', [6], new Float32Array(6)]], 'F32'),
    /extra\.safetensors: unexpected tensor transformer\.h\.2\.ln_1\.weight/]);
  for (const [name, bytes, pattern] of cases) await rejects(readCheckpoint(await put(`bad/${name}`, bytes)), pattern);
});

test('overlapping offsets, bad dtype and bad byte counts are caught in the header', async () => {
  const header = (entries: Record<string, unknown>, dataBytes: number) => {
    const json = Buffer.from(JSON.stringify(entries));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, Buffer.alloc(dataBytes)]);
  };
  const cases: [Buffer, RegExp][] = [
    [header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12),
      /tensors a and b overlap/],
    [header({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8), /tensor a: dtype "I64" is not supported/],
    [header({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /tensor a: 8 bytes of data, but shape \[3\] of F32 needs 12/],
    [header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, __metadata__: { n: 1 } }, 8), /__metadata__\.n is number/],
  ];
  for (const [i, [bytes, pattern]] of cases.entries()) {
    await put(`hdr/config.json`, hfConfigJson);
    await rejects(readCheckpoint(await put(`hdr/case${i}.safetensors`, bytes)), pattern);
  }
  await rejects(readCheckpoint(await put('noconf/x.safetensors', header({}, 0))), /x\.safetensors: no model config/);
});

test('llm.c files: wrong magic, unknown version, truncation and trailing bytes are errors', async () => {
  const params = randomParams(5);
  const good = llmcBytes(params);
  const cases: [string, Uint8Array, RegExp][] = [
    ['magic.bin', llmcBytes(params, { magic: 1234 }), /magic\.bin: bad magic 1234, expected 20240326/],
    ['version.bin', llmcBytes(params, { version: 4 }), /version\.bin: unsupported llm\.c version 4/],
    ['short.bin', good.subarray(0, good.length - 4), /short\.bin: \d+ bytes, expected \d+ .*: truncated/],
    ['long.bin', Buffer.concat([good, Buffer.alloc(4)]), /long\.bin: .*trailing data/],
    ['header.bin', good.subarray(0, 100), /header\.bin: file is 100 bytes, shorter than the llm\.c header/],
    ['pad.bin', llmcBytes(params, { paddedVocab: 8 }), /pad\.bin: padded vocabulary 8 is smaller than the vocabulary 11/],
  ];
  for (const [name, bytes, pattern] of cases) await rejects(readCheckpoint(await put(name, bytes)), pattern);
});

// ---- atomic writes ----

test('writeCheckpoint refuses bad params and leaves the old file intact', async () => {
  const file = path.join(dir, 'atomic.safetensors');
  const params = randomParams(6);
  await writeCheckpoint(file, cfg, params);
  const before = await readFile(file);
  const nan = params.slice();
  nan[17] = NaN;
  await rejects(writeCheckpoint(file, cfg, nan), /params: element 17 is NaN; refusing to write a non-finite checkpoint/);
  await rejects(writeCheckpoint(file, cfg, params.subarray(1)), /params: expected \d+ floats/);
  await rejects(writeCheckpoint(file, { ...cfg, dim: 5 }, params), /divisible/);
  await rejects(writeCheckpoint(path.join(dir, 'gone', 'x.safetensors'), cfg, params), /ENOENT/);
  assert.ok(before.equals(await readFile(file)));
});

test('a failure in the middle of a write removes the temp file and keeps the old file', async () => {
  const sub = path.join(dir, 'midwrite');
  await mkdir(sub);
  const file = path.join(sub, 'model.safetensors');
  await writeFileAtomic(file, [Buffer.from('old contents')]);
  function* failing() {
    yield Buffer.alloc(1 << 16, 1);
    throw new Error('disk on fire');
  }
  await rejects(writeFileAtomic(file, failing()), /disk on fire/);
  assert.is(await readFile(file, 'utf8'), 'old contents');
  assert.equal(await readdir(sub), ['model.safetensors']);
});

test.run();
