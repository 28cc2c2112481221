// Checkpoint contents that are well-formed on disk but wrong or unusual as values or config:
// NaN / Inf values (refused, naming the file and the tensor), f16 subnormals decoded exactly and
// f16 Inf refused, malformed Hugging Face config.json files, and a config.json that disagrees
// with the tensor shapes. The files are written by the tests' own writers (helpers/).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GPT, parameterCount, parameterLayout, readCheckpoint, type GPTConfig } from '../lib/index.js';
import { hfConfigJson, hfStateDict, llmcBytes, safetensorsBytes, type NamedTensor } from './helpers/checkpoint_writers.js';
import { rejects } from './helpers/rejects.js';
import { suiteTempDir } from './helpers/temp_dir.js';

const cfg: GPTConfig = { vocabSize: 11, maxSeqLen: 5, layers: 2, heads: 3, dim: 6 };
const dir = suiteTempDir(test, 'ckpt-values');

async function put(name: string, data: Uint8Array | string): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, data);
  return file;
}

// Exact in every format: k/64, |k| <= 128.
const params = () => Float32Array.from({ length: parameterCount(cfg) }, (_, i) => ((i * 37) % 257 - 128) / 64);
const offsetOf = (name: string) => parameterLayout(cfg).find((t) => t.name === name)!.offset;

// One tensor's values replaced (HF names, transformer. prefix).
const withTensor = (sd: NamedTensor[], name: string, edit: (v: Float32Array) => void): NamedTensor[] =>
  sd.map(([n, s, v]) => {
    if (n !== name) return [n, s, v];
    const c = v.slice();
    edit(c);
    return [n, s, c];
  });

for (const [what, value] of [['NaN', NaN], ['+Inf', Infinity], ['-Inf', -Infinity]] as const) {
  test(`a ${what} value is refused on read, naming the file and the tensor (HF folder, own safetensors, llm.c)`, async () => {
    const sd = withTensor(hfStateDict(cfg, params()), 'transformer.h.1.mlp.c_fc.bias', (v) => { v[7] = value; });
    await put(`${what}/hf/config.json`, hfConfigJson(cfg));
    await put(`${what}/hf/model.safetensors`, safetensorsBytes(sd, 'F32'));
    const pattern = new RegExp(`model\\.safetensors: tensor transformer\\.h\\.1\\.mlp\\.c_fc\\.bias element 7 is ${what.replace('+', '')}`);
    await rejects(readCheckpoint(path.join(dir, what, 'hf')), pattern);
    await rejects(GPT.load(path.join(dir, what, 'hf')), pattern);

    const own = sd.filter(([n]) => !/attn\.(bias|masked_bias)$|^lm_head/.test(n)).map(([n, s, v]) => [n.replace(/^transformer\./, ''), s, v] as NamedTensor);
    const ownFile = await put(`${what}/own.safetensors`, safetensorsBytes(own, 'F32', { format: 'headgrad', config: JSON.stringify(cfg) }));
    await rejects(readCheckpoint(ownFile), /own\.safetensors: tensor h\.1\.mlp\.c_fc\.bias element 7 is/);

    const p = params();
    p[offsetOf('lnfw') + 2] = value;
    const bin = await put(`${what}/model.bin`, llmcBytes(cfg, p));
    await rejects(readCheckpoint(bin), new RegExp(`model\\.bin: parameter ${offsetOf('lnfw') + 2} is`));
  });
}

// f16 bit patterns written directly: the tests' writer handles normal numbers only.
function f16File(values: number[]): Buffer {
  const sd = hfStateDict(cfg, params());
  const header: Record<string, unknown> = {};
  const blobs: Buffer[] = [];
  let off = 0;
  for (const [name, shape, v] of sd) {
    const b = Buffer.alloc(v.length * 2);
    for (let i = 0; i < v.length; i++) {
      // normal values k/64: sign, exponent, 10 mantissa bits
      const x = v[i]!;
      let bits = 0;
      if (x !== 0) {
        const e = Math.floor(Math.log2(Math.abs(x)));
        bits = (x < 0 ? 0x8000 : 0) | ((e + 15) << 10) | Math.round((Math.abs(x) / 2 ** e - 1) * 1024);
      }
      b.writeUInt16LE(name === 'transformer.wpe.weight' && i < values.length ? values[i]! : bits, 2 * i);
    }
    header[name] = { dtype: 'F16', shape, data_offsets: [off, off + b.length] };
    blobs.push(b);
    off += b.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...blobs]);
}

test('f16: subnormals decode exactly (k·2^-24), signed zero too; an f16 Inf or NaN is refused', async () => {
  // 0x0001 = 2^-24 (smallest), 0x03ff = 1023·2^-24 (largest subnormal), 0x8003 = −3·2^-24,
  // 0x0400 = 2^-14 (smallest normal), 0x8000 = −0
  const bits = [0x0001, 0x03ff, 0x8003, 0x0400, 0x8000, 0x0200];
  await put('f16/config.json', hfConfigJson(cfg));
  await put('f16/model.safetensors', f16File(bits));
  const ck = await readCheckpoint(path.join(dir, 'f16'));
  const wpe = ck.params.subarray(offsetOf('wpe'), offsetOf('wpe') + bits.length);
  assert.equal(Array.from(wpe), [2 ** -24, 1023 * 2 ** -24, -3 * 2 ** -24, 2 ** -14, -0, 512 * 2 ** -24]);
  assert.ok(Object.is(wpe[4], -0), '−0 keeps its sign');
  // the rest of the file is unchanged by the edit
  assert.equal(Array.from(ck.params.subarray(0, offsetOf('wpe'))), Array.from(params().subarray(0, offsetOf('wpe'))));
  for (const [what, b] of [['Inf', 0x7c00], ['-Inf', 0xfc00], ['NaN', 0x7e00]] as const) {
    await put(`f16_${what}/config.json`, hfConfigJson(cfg));
    await put(`f16_${what}/model.safetensors`, f16File([0x3c00, b]));
    await rejects(readCheckpoint(path.join(dir, `f16_${what}`)), new RegExp(`tensor transformer\\.wpe\\.weight element 1 is ${what}`));
  }
});

test('a malformed config.json is an error naming config.json and the problem', async () => {
  await put('cfg/model.safetensors', safetensorsBytes(hfStateDict(cfg, params()), 'F32'));
  const good = JSON.parse(hfConfigJson(cfg));
  const cases: [string, RegExp][] = [
    ['{"vocab_size": 11,', /config\.json: not valid JSON/],
    ['null', /config\.json: expected a JSON object, got null/],
    ['[1, 2]', /config\.json: expected a JSON object, got an array/],
    ['"gpt2"', /config\.json: expected a JSON object, got gpt2/],
    [JSON.stringify({ ...good, n_embd: undefined }), /config\.json\.dim: expected a positive integer, got undefined/],
    [JSON.stringify({ ...good, vocab_size: '11' }), /config\.json\.vocabSize: expected a positive integer, got "11"/],
    [JSON.stringify({ ...good, n_layer: 0 }), /config\.json\.layers: expected a positive integer, got 0/],
    [JSON.stringify({ ...good, n_head: 2.5 }), /config\.json\.heads: expected a positive integer, got 2\.5/],
    [JSON.stringify({ ...good, n_head: 4 }), /config\.json: dim \(6\) must be divisible by heads \(4\)/],
  ];
  for (const [text, pattern] of cases) {
    await put('cfg/config.json', text);
    await rejects(readCheckpoint(path.join(dir, 'cfg')), pattern);
    await rejects(GPT.load(path.join(dir, 'cfg')), pattern);
  }
});

test('a config.json that disagrees with the tensors names the tensor and both shapes', async () => {
  const sd = hfStateDict(cfg, params());
  await put('mismatch/model.safetensors', safetensorsBytes(sd, 'F32'));
  const cases: [Partial<Record<string, number>>, RegExp][] = [
    [{ n_embd: 12 }, /tensor transformer\.wte\.weight has shape \[11,6\], expected \[11,12\]/],
    [{ vocab_size: 12 }, /tensor transformer\.wte\.weight has shape \[11,6\], expected \[12,6\]/],
    [{ n_positions: 7 }, /tensor transformer\.wpe\.weight has shape \[5,6\], expected \[7,6\]/],
    [{ n_layer: 3 }, /missing 12 tensor\(s\): (transformer\.)?h\.2\./],
    [{ n_layer: 1 }, /unexpected tensor transformer\.h\.1\./],
  ];
  for (const [change, pattern] of cases) {
    await put('mismatch/config.json', JSON.stringify({ ...JSON.parse(hfConfigJson(cfg)), ...change }));
    await rejects(readCheckpoint(path.join(dir, 'mismatch')), pattern);
  }
  // n_head changes no tensor shape: the same weights read, as a 2-head model (a config a user
  // must get right; nothing in the file can tell)
  await put('mismatch/config.json', JSON.stringify({ ...JSON.parse(hfConfigJson(cfg)), n_head: 2 }));
  const ck = await readCheckpoint(path.join(dir, 'mismatch'));
  assert.is(ck.config.heads, 2);
  assert.equal(Array.from(ck.params), Array.from(params()));
});

test.run();
