// Hugging Face Llama / Llama-3-style (GQA + llama3 rope scaling) / Qwen2 / Mistral / Qwen3 /
// OLMo 2 / Phi-3 (mini 4k's window, 128k's longrope) / Gemma folders,
// written by the tests (helpers/hf_llama_folder.ts): reading (one file, shards, F32/F16/BF16),
// loading into the engine (loss, head-gate gradients and greedy generation against the float64
// reference), saving back to a folder (round trip, shards, names, shapes, dtypes), and the bad
// folders: truncated shard, missing shard, wrong dtype, unsupported config fields.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, readdir, truncate, writeFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { GPT } from '../lib/model.js';
import { readCheckpoint, parameterCount, pickConfig, type GPTConfig } from '../lib/checkpoint/index.js';
import { Rng } from '../lib/util/random.js';
import { hfLlamaConfig, hfLlamaTensors, writeHfLlamaFolder, type LlamaType } from './helpers/hf_llama_folder.js';
import { randomReferenceParameters, referenceForward, referenceGateGradients } from './helpers/reference_model.js';
import { maxRelError, within } from './helpers/compare.js';
import { checkGreedy } from './helpers/greedy.js';
import { rejects } from './helpers/rejects.js';
import { suiteTempDir } from './helpers/temp_dir.js';
import { testSeed } from './helpers/seed.js';

const root = suiteTempDir(test, 'hf-folder');
const rng = new Rng(testSeed('hf-folder'));
const f = (...p: string[]) => path.join(root, ...p);

const MODELS: { name: string; type: LlamaType; cfg: GPTConfig }[] = [
  {
    name: 'llama', type: 'llama',
    cfg: { vocabSize: 37, maxSeqLen: 24, layers: 2, heads: 4, dim: 16, kvHeads: 4, ffnDim: 20, norm: 'rmsnorm', normEps: 1e-5,
      positions: 'rope', ropeTheta: 10000, mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false },
  },
  {
    name: 'llama3', type: 'llama',
    cfg: { vocabSize: 41, maxSeqLen: 32, layers: 2, heads: 4, dim: 16, kvHeads: 2, ffnDim: 24, norm: 'rmsnorm', normEps: 1e-5,
      positions: 'rope', ropeTheta: 500000, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 },
      mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: true },
  },
  {
    name: 'qwen2', type: 'qwen2',
    cfg: { vocabSize: 43, maxSeqLen: 20, layers: 2, heads: 6, dim: 24, kvHeads: 2, ffnDim: 28, norm: 'rmsnorm', normEps: 1e-6,
      positions: 'rope', ropeTheta: 1000000, mlp: 'swiglu', qkvBias: true, linearBias: false, tiedEmbeddings: false },
  },
  {
    name: 'mistral', type: 'mistral',
    cfg: { vocabSize: 29, maxSeqLen: 16, layers: 1, heads: 4, dim: 16, kvHeads: 1, ffnDim: 12, norm: 'rmsnorm', normEps: 1e-5,
      positions: 'rope', ropeTheta: 10000, ropeScaling: { type: 'linear', factor: 2 }, mlp: 'swiglu', qkvBias: false, linearBias: false,
      tiedEmbeddings: false },
  },
  {
    // Qwen3: head_dim 8 with hidden_size 16 and 4 heads, per-head q_norm/k_norm, tied like the 0.6B
    name: 'qwen3', type: 'qwen3',
    cfg: { vocabSize: 31, maxSeqLen: 20, layers: 2, heads: 4, dim: 16, kvHeads: 2, headDim: 8, ffnDim: 24, norm: 'rmsnorm', normEps: 1e-6,
      positions: 'rope', ropeTheta: 1000000, mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: true, qkNorm: 'head' },
  },
  {
    // OLMo 2: q_norm/k_norm over the projections, post_attention / post_feedforward norms only
    name: 'olmo2', type: 'olmo2',
    cfg: { vocabSize: 27, maxSeqLen: 16, layers: 2, heads: 4, dim: 16, kvHeads: 4, ffnDim: 20, norm: 'rmsnorm', normEps: 1e-6,
      positions: 'rope', ropeTheta: 500000, mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false,
      qkNorm: 'projection', normPlacement: 'post' },
  },
  {
    // Mistral v0.1: its sliding window (4096 of 32768 there; 5 of 20 here)
    name: 'mistral-v0.1', type: 'mistral',
    cfg: { vocabSize: 23, maxSeqLen: 20, layers: 2, heads: 4, dim: 16, kvHeads: 2, ffnDim: 20, norm: 'rmsnorm', normEps: 1e-5,
      positions: 'rope', ropeTheta: 10000, mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false, slidingWindow: 5 },
  },
  {
    // Phi-3 mini: fused qkv_proj and gate_up_proj, sliding window (2047 of 4096 there; 7 of 16 here)
    name: 'phi3', type: 'phi3',
    cfg: { vocabSize: 29, maxSeqLen: 16, layers: 2, heads: 4, dim: 16, kvHeads: 4, ffnDim: 20, norm: 'rmsnorm', normEps: 1e-5,
      positions: 'rope', ropeTheta: 10000, mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false, slidingWindow: 7 },
  },
  {
    // Phi-3 mini 128k / Phi-3.5 mini: longrope (original context 4096 of 131072 there; 6 of 16
    // here: T 9 and greedy decoding past 6 positions take the long factors), transformers'
    // default attention factor
    name: 'phi3-longrope', type: 'phi3',
    cfg: { vocabSize: 29, maxSeqLen: 16, layers: 2, heads: 4, dim: 32, kvHeads: 4, ffnDim: 20, norm: 'rmsnorm', normEps: 1e-5,
      positions: 'rope', ropeTheta: 100, mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false,
      ropeScaling: { type: 'longrope', shortFactor: [1, 1.05, 1.1, 1.25], longFactor: [1.5, 3, 7.5, 20], originalMaxPositions: 6,
        attentionFactor: Math.sqrt(1 + Math.log(16 / 6) / Math.log(6)) } },
  },
  {
    // Qwen2 with use_sliding_window: the window on the layers from max_window_layers (1) on
    name: 'qwen2-window', type: 'qwen2',
    cfg: { vocabSize: 37, maxSeqLen: 16, layers: 2, heads: 4, dim: 16, kvHeads: 2, ffnDim: 20, norm: 'rmsnorm', normEps: 1e-6,
      positions: 'rope', ropeTheta: 1000000, mlp: 'swiglu', qkvBias: true, linearBias: false, tiedEmbeddings: false,
      slidingWindow: 4, layerTypes: ['global', 'local'] },
  },
  {
    // Gemma 2: GeGLU, four (1 + w) norms per layer, both soft-caps, query_pre_attn_scalar, local
    // layer 0 and global layer 1, head_dim 16 with hidden_size 24 and 2 heads; the embedding scale
    // √24 in bfloat16 (4.90625; float32 would be 4.898979)
    name: 'gemma2', type: 'gemma2',
    cfg: { vocabSize: 29, maxSeqLen: 16, layers: 2, heads: 2, dim: 24, kvHeads: 1, headDim: 16, ffnDim: 20, norm: 'rmsnorm', normEps: 1e-6,
      positions: 'rope', ropeTheta: 10000, mlp: 'geglu', qkvBias: false, linearBias: false, tiedEmbeddings: true, normPlacement: 'both',
      slidingWindow: 4, layerTypes: ['local', 'global'], normWeightOffset: 1, embedScale: 4.90625, attnSoftcap: 4, finalSoftcap: 2,
      queryScale: 12 },
  },
  {
    // Gemma 3 (text): per-head (1 + w) q/k norms, sliding_window_pattern 3 (layers 0, 1 local),
    // local RoPE base 10000 unscaled, global 1e6 with linear scaling 8, no soft-caps
    name: 'gemma3', type: 'gemma3_text',
    cfg: { vocabSize: 31, maxSeqLen: 16, layers: 3, heads: 4, dim: 16, kvHeads: 2, headDim: 8, ffnDim: 20, norm: 'rmsnorm', normEps: 1e-6,
      positions: 'rope', ropeTheta: 1000000, ropeScaling: { type: 'linear', factor: 8 }, mlp: 'geglu', qkvBias: false, linearBias: false,
      tiedEmbeddings: true, qkNorm: 'head', normPlacement: 'both', slidingWindow: 5, layerTypes: ['local', 'local', 'global'],
      ropeLocalTheta: 10000, normWeightOffset: 1, embedScale: 4, queryScale: 8 },
  },
];

// Parameters exact in f16 and bf16 (k/64, |k| < 256), so every dtype reads back to the same floats.
function exactParams(cfg: GPTConfig): Float32Array {
  return randomReferenceParameters(cfg, rng).map((x) => Math.max(-255, Math.min(255, Math.round(x * 64))) / 64);
}

const params = new Map(MODELS.map((m) => [m.name, exactParams(m.cfg)]));

test('readCheckpoint: each family, one file or shards, F32/F16/BF16, reads the canonical params', async () => {
  for (const m of MODELS) {
    const p = params.get(m.name)!;
    for (const [dtype, shards] of [['F32', 1], ['BF16', 1], ['F16', 3], ['BF16', 4]] as const) {
      const dir = f(`${m.name}-${dtype}-${shards}`);
      await writeHfLlamaFolder(dir, m.type, m.cfg, p, { dtype, shards });
      const ck = await readCheckpoint(dir);
      assert.is(ck.format, 'hf-llama');
      assert.equal(ck.config, pickConfig(m.cfg), `${m.name} config`);
      assert.equal(Array.from(ck.params), Array.from(p), `${m.name} ${dtype} ${shards} shard(s)`);
    }
  }
});

test('GPT.load of each folder: loss and head-gate gradients = float64 reference; greedy generation too', async () => {
  for (const m of MODELS) {
    const dir = f(`${m.name}-BF16-4`);
    using model = await GPT.load(dir);
    const p = params.get(m.name)!;
    assert.equal(Array.from(model.exportParametersSync()), Array.from(p), `${m.name} parameters`);
    const B = 2;
    const T = Math.min(9, m.cfg.maxSeqLen);
    const tokens = Int32Array.from({ length: B * T }, () => rng.int(m.cfg.vocabSize));
    const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 5 === 4 ? -1 : rng.int(m.cfg.vocabSize)));
    const { loss } = await model.forward(tokens, { batch: B, seqLen: T, targets });
    const { headScores } = await model.backward();
    const ref = referenceForward(m.cfg, p, tokens, B, T, { targets });
    within(`hf-folder: loss vs float64, relative (${m.name})`, Math.abs(loss - ref.loss) / Math.abs(ref.loss), 1e-5,
      `loss ${loss} vs float64 ${ref.loss}`);
    const grads = referenceGateGradients(m.cfg, p, tokens, B, T, { targets });
    within(`hf-folder: head scores vs float64, error / max(scale, 1e-3) (${m.name})`, maxRelError(headScores, grads, 1e-3), 1e-3);
    // greedy, token by token; ties within 3e-5 of the logits' scale may swap in f32 (as in llama.test.ts)
    const prompt = tokens.subarray(0, 3);
    const out = await model.generate(prompt, { maxNewTokens: 4 });
    assert.is(out.length, 4);
    checkGreedy(`hf-folder: greedy token, shortfall from the reference's best logit / scale (${m.name})`, m.cfg, p, prompt, out, 3e-5);
  }
});

/** The header of a safetensors file: { name: { dtype, shape } } and its metadata. */
async function header(file: string): Promise<Record<string, { dtype: string; shape: number[] }> & { __metadata__?: Record<string, string> }> {
  const buf = await readFile(file);
  const n = Number(buf.readBigUInt64LE(0));
  return JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
}

test('save to a folder: transformers names, shapes, F32, config; round trip; shards with an index', async () => {
  for (const m of MODELS) {
    using model = await GPT.load(f(`${m.name}-F32-1`));
    const out = f(`${m.name}-saved`);
    await model.save(out);
    const files = (await readdir(out)).sort();
    assert.equal(files, ['config.json', 'model.safetensors']);
    const h = await header(path.join(out, 'model.safetensors'));
    assert.equal(h.__metadata__, { format: 'pt' });
    const expected = hfLlamaTensors(m.cfg, params.get(m.name)!, m.type);
    assert.equal(Object.keys(h).filter((k) => k !== '__metadata__').sort(), expected.map(([n]) => n).sort(), `${m.name} tensor names`);
    for (const [name, shape] of expected) {
      assert.equal(h[name]!.shape, shape, `${m.name} ${name} shape`);
      assert.is(h[name]!.dtype, 'F32');
    }
    const cfgJson = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
    const want = hfLlamaConfig(m.type, m.cfg);
    for (const k of ['vocab_size', 'max_position_embeddings', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads',
      'hidden_size', 'intermediate_size', 'rms_norm_eps', 'rope_theta', 'tie_word_embeddings', 'hidden_act',
      ...(want.head_dim !== undefined ? ['head_dim'] : []), ...(m.type === 'qwen3' || m.type === 'olmo2' ? ['attention_bias'] : [])]) {
      assert.equal(cfgJson[k], want[k], `${m.name} config.json ${k}`);
    }
    // each family in its own names (a model loaded from a folder keeps its model_type)
    assert.is(cfgJson.model_type, m.type);
    assert.equal(cfgJson.architectures, hfLlamaConfig(m.type, m.cfg).architectures);
    const back = await readCheckpoint(out);
    assert.equal(back.config, pickConfig(m.cfg));
    assert.equal(Array.from(back.params), Array.from(params.get(m.name)!));
  }
  // sharded: small shards, an index naming every tensor, the same parameters back
  using model = await GPT.load(f('qwen2-F32-1'));
  const out = f('qwen2-sharded');
  await model.save(out, { maxShardBytes: 4096 });
  const index = JSON.parse(await readFile(path.join(out, 'model.safetensors.index.json'), 'utf8'));
  const shards = new Set(Object.values(index.weight_map as Record<string, string>));
  assert.ok(shards.size > 2, `${shards.size} shards`);
  for (const s of shards) assert.match(s, /^model-\d{5}-of-\d{5}\.safetensors$/);
  assert.is(index.metadata.total_size, parameterCount(MODELS[2]!.cfg) * 4);
  assert.equal(Array.from((await readCheckpoint(out)).params), Array.from(params.get('qwen2')!));
  // saving again over it replaces the folder whole (no stale shards)
  await model.save(out);
  assert.equal((await readdir(out)).sort(), ['config.json', 'model.safetensors']);
  // the own single-file format keeps working for these configs
  await model.save(f('qwen2.safetensors'));
  const own = await readCheckpoint(f('qwen2.safetensors'));
  assert.is(own.format, 'headgrad');
  assert.equal(own.config, pickConfig(MODELS[2]!.cfg));
  assert.equal(Array.from(own.params), Array.from(params.get('qwen2')!));
});

test('bad folders: truncated shard, missing shard, wrong dtype, mis-shaped and missing tensors', async () => {
  const m = MODELS[1]!;
  const p = params.get(m.name)!;
  const dir = f('bad-trunc');
  const names = await writeHfLlamaFolder(dir, m.type, m.cfg, p, { shards: 3 });
  const shard = path.join(dir, names[1]!);
  await truncate(shard, (await stat(shard)).size - 7);
  await rejects(GPT.load(dir), new RegExp(`${names[1]}: tensor .* lie outside the data section .*truncated file`));

  const dir2 = f('bad-missing');
  const names2 = await writeHfLlamaFolder(dir2, m.type, m.cfg, p, { shards: 3 });
  await rm(path.join(dir2, names2[2]!));
  await rejects(GPT.load(dir2), new RegExp(`model\\.safetensors\\.index\\.json: lists shard ${names2[2]}, which is missing`));

  const dir3 = f('bad-dtype');
  await writeHfLlamaFolder(dir3, m.type, m.cfg, p);
  const file = path.join(dir3, 'model.safetensors');
  const buf = await readFile(file);
  const n = Number(buf.readBigUInt64LE(0));
  const h = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  h['model.norm.weight'].dtype = 'I32';
  const json = Buffer.from(JSON.stringify(h).padEnd(n, ' '));
  assert.is(json.length, n);
  await writeFile(file, Buffer.concat([buf.subarray(0, 8), json, buf.subarray(8 + n)]));
  await rejects(GPT.load(dir3), /model\.safetensors: tensor model\.norm\.weight: dtype "I32" is not supported \(F32, F16, BF16\)/);

  const dir4 = f('bad-shape');
  await writeHfLlamaFolder(dir4, m.type, { ...m.cfg, kvHeads: 4 }, randomReferenceParameters({ ...m.cfg, kvHeads: 4 }, rng), { config: { num_key_value_heads: 2 } });
  await rejects(GPT.load(dir4), /tensor model\.layers\.0\.self_attn\.k_proj\.weight has shape \[16,16\], expected \[8,16\]/);

  const dir5 = f('bad-untied');
  await writeHfLlamaFolder(dir5, m.type, m.cfg, p, { config: { tie_word_embeddings: false } });
  await rejects(GPT.load(dir5), /missing 1 tensor\(s\): lm_head\.weight \(for llama /);

  await rejects(GPT.load(f('nothing-here')), /no such file|ENOENT/);
  const dir6 = f('bad-noweights');
  await writeHfLlamaFolder(dir6, m.type, m.cfg, p);
  await rm(path.join(dir6, 'model.safetensors'));
  await rejects(GPT.load(dir6), /the model folder has neither model\.safetensors nor model\.safetensors\.index\.json/);
});

test('unsupported config.json fields fail before any weight is read, naming the field', async () => {
  const m = MODELS[0]!;
  const cases: [Record<string, unknown>, RegExp, LlamaType?][] = [
    [{ model_type: 'mixtral' }, /model_type "mixtral" is not supported/],
    [{ model_type: 'gemma' }, /model_type "gemma" is not supported/],
    [{ sliding_window: 0 }, /sliding_window: 0 is in use \(shorter than max_position_embeddings 24\): expected a positive integer/, 'mistral'],
    [{ use_sliding_window: true, sliding_window: 8, max_window_layers: -1 }, /max_window_layers: expected an integer >= 0, got -1/, 'qwen2'],
    [{ use_sliding_window: true, sliding_window: 8, layer_types: ['full_attention', 'chunked_attention'] }, /layer_types\[1\]: "chunked_attention" is not supported/, 'qwen2'],
    [{ rope_scaling: { type: 'longrope', long_factor: [1, 1], short_factor: [1, 1] } }, /rope_scaling\.rope_type: "longrope" is not supported \(none, linear and llama3 are; longrope for phi3\)/],
    [{ rope_scaling: { type: 'longrope', long_factor: [1, 1], short_factor: [1] } }, /rope_scaling\.short_factor: expected 2 positive numbers \(head_dim \/ 2\), got \[1\]/, 'phi3'],
    [{ rope_scaling: { type: 'longrope', long_factor: [1, 0], short_factor: [1, 1] } }, /rope_scaling\.long_factor: expected 2 positive numbers \(head_dim \/ 2\), got \[1,0\]/, 'phi3'],
    [{ rope_scaling: { type: 'longrope', long_factor: [1, 2], short_factor: [1, 1] }, original_max_position_embeddings: undefined },
      /original_max_position_embeddings: longrope needs a positive integer, got undefined/, 'phi3'],
    [{ rope_scaling: null, rope_parameters: { rope_type: 'longrope', rope_theta: 1e4, long_factor: [1, 2], short_factor: [1, 1], original_max_position_embeddings: 0 } },
      /rope_parameters\.original_max_position_embeddings: longrope needs a positive integer, got 0/, 'phi3'],
    [{ rope_scaling: { type: 'longrope', long_factor: [1, 2], short_factor: [1, 1], factor: 4 }, original_max_position_embeddings: 8 },
      /rope_scaling\.factor: 4 differs from max_position_embeddings \/ original_max_position_embeddings = 3, .*give attention_factor/, 'phi3'],
    [{ rope_scaling: { type: 'longrope', long_factor: [1, 2], short_factor: [1, 1], attention_factor: -1 } },
      /rope_scaling\.attention_factor: expected a positive number, got -1/, 'phi3'],
    [{ partial_rotary_factor: 0.75 }, /partial_rotary_factor: 0\.75 is not supported/, 'phi3'],
    // Phi-4-mini: longrope lists sized for its rotary part, not the whole head: the refusal names partial_rotary_factor
    [{ partial_rotary_factor: 0.75, rope_scaling: { type: 'longrope', long_factor: [1, 2, 3], short_factor: [1, 1, 1] } },
      /partial_rotary_factor: 0\.75 is not supported \(rotary on the whole head\)/, 'phi3'],
    [{ rope_scaling: null, rope_parameters: { rope_type: 'longrope', rope_theta: 1e4, partial_rotary_factor: 0.75, long_factor: [1, 2, 3], short_factor: [1, 1, 1] } },
      /partial_rotary_factor: 0\.75 is not supported/, 'phi3'],
    [{ attention_bias: true }, /attention_bias: true is not supported for phi3/, 'phi3'],
    [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling\.rope_type: "yarn" is not supported/],
    [{ rope_scaling: { type: 'dynamic', factor: 2 } }, /rope_scaling\.rope_type: "dynamic" is not supported/],
    [{ rope_scaling: { rope_type: 'llama3', factor: 8 } }, /rope_scaling\.low_freq_factor: expected a positive number/],
    [{ num_local_experts: 8 }, /num_local_experts: mixture-of-experts models are not supported/],
    [{ head_dim: 8 }, /head_dim: 8 differs from hidden_size \/ num_attention_heads = 4/],
    [{ hidden_act: 'gelu' }, /hidden_act: "gelu" is not supported/],
    [{ attention_bias: true }, /attention_bias true with mlp_bias false is not supported/],
    [{ quantization_config: { bits: 4 } }, /quantization_config: quantized weights are not supported/],
    [{ attention_bias: true }, /attention_bias: true is not supported for qwen3/, 'qwen3'],
    [{ use_sliding_window: true, sliding_window: 0 }, /sliding_window: 0 is in use .*: expected a positive integer/, 'qwen3'],
    [{ layer_types: ['full_attention', 'sliding_attention'], sliding_window: 8 }, /layer_types\[1\]: "sliding_attention" is not supported/, 'qwen3'],
    [{ head_dim: undefined, hidden_size: 18 }, /head_dim: expected a positive integer, got undefined/, 'qwen3'],
    [{ attention_bias: true }, /attention_bias: true is not supported for olmo2/, 'olmo2'],
    [{ head_dim: 8 }, /head_dim: 8 differs from hidden_size \/ num_attention_heads = 4, which the engine requires for olmo2/, 'olmo2'],
    [{ num_key_value_heads: 3 }, /num_key_value_heads 3 does not divide num_attention_heads 4/],
    [{ intermediate_size: 0 }, /intermediate_size: expected a positive integer, got 0/],
  ];
  for (const [i, [extra, pattern, type]] of cases.entries()) {
    const dir = f(`cfg-${i}`);
    await writeHfLlamaFolder(dir, type ?? 'llama', m.cfg, params.get('llama')!, { config: extra });
    // garbage weights: the config error must come first
    await writeFile(path.join(dir, 'model.safetensors'), 'not a safetensors file');
    await rejects(GPT.load(dir), new RegExp(`config\\.json: ${pattern.source}`));
  }
  // Gemma's fields, on a gemma folder
  const g = MODELS.find((x) => x.name === 'gemma2')!, g3 = MODELS.find((x) => x.name === 'gemma3')!;
  const gemmaCases: [Record<string, unknown>, RegExp, LlamaType][] = [
    [{ hidden_activation: 'gelu' }, /hidden_activation: "gelu" is not supported \(gelu_pytorch_tanh is\)/, 'gemma2'],
    [{ hidden_activation: undefined, hidden_act: 'silu' }, /hidden_act: "silu" is not supported/, 'gemma2'],
    [{ model_type: 'gemma3', text_config: { model_type: 'gemma3_text' } }, /model_type "gemma3" is a multimodal Gemma 3 .*only text models are supported/, 'gemma2'],
    [{ layer_types: ['sliding_attention', 'chunked_attention'] }, /layer_types\[1\]: "chunked_attention" is not supported/, 'gemma2'],
    [{ layer_types: ['sliding_attention'] }, /layer_types: expected an array of 2 entries/, 'gemma2'],
    [{ attention_bias: true }, /attention_bias: true is not supported for Gemma/, 'gemma2'],
    [{ attn_logit_softcapping: -1 }, /attn_logit_softcapping: expected a positive number or null|attn_logit_softcapping: expected a positive number/, 'gemma2'],
    [{ torch_dtype: 'int8' }, /torch_dtype: "int8" is not supported/, 'gemma2'],
    [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling\.rope_type: "yarn" is not supported/, 'gemma3_text'],
    [{ rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 1e6 }, sliding_attention: { rope_type: 'linear', factor: 2, rope_theta: 1e4 } } },
      /rope_parameters\.sliding_attention\.rope_type: "linear" is not supported/, 'gemma3_text'],
    [{ use_bidirectional_attention: true }, /use_bidirectional_attention: true \(EmbeddingGemma\) is not supported/, 'gemma3_text'],
  ];
  for (const [i, [extra, pattern, type]] of gemmaCases.entries()) {
    const dir = f(`cfg-gemma-${i}`);
    const mm = type === 'gemma2' ? g : g3;
    await writeHfLlamaFolder(dir, type, mm.cfg, params.get(mm.name)!, { config: extra });
    await writeFile(path.join(dir, 'model.safetensors'), 'not a safetensors file');
    await rejects(GPT.load(dir), new RegExp(`config\\.json: ${pattern.source}`));
  }
  // Gemma variants read to the same config: layer_types spelled out, transformers 5's per-kind
  // rope_parameters; and float32's √24 where torch_dtype says float32
  const gemmaOk: [Record<string, unknown>, LlamaType, GPTConfig][] = [
    [{ layer_types: ['sliding_attention', 'full_attention'] }, 'gemma2', g.cfg],
    [{ layer_types: ['sliding_attention', 'sliding_attention', 'full_attention'], sliding_window_pattern: undefined, rope_theta: undefined,
      rope_scaling: undefined, rope_local_base_freq: undefined, rope_parameters: {
        full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1000000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } } },
    'gemma3_text', g3.cfg],
    [{ torch_dtype: 'float32' }, 'gemma2', { ...g.cfg, embedScale: Math.fround(Math.sqrt(24)) }],
  ];
  for (const [i, [extra, type, want]] of gemmaOk.entries()) {
    const dir = f(`cfg-gemma-ok-${i}`);
    const mm = type === 'gemma2' ? g : g3;
    await writeHfLlamaFolder(dir, type, mm.cfg, params.get(mm.name)!, { config: extra });
    assert.equal((await readCheckpoint(dir)).config, pickConfig(want), `gemma ok ${i}`);
  }
  // supported variants: transformers 5's rope_parameters, sliding_window not in use
  const ok: [Record<string, unknown>, LlamaType][] = [
    [{ rope_scaling: undefined, rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 10000 } }, 'llama'],
    [{ sliding_window: 4096 }, 'mistral'],
  ];
  // Mistral v0.1's window is mapped; a window as long as the context masks nothing
  for (const [w, want] of [[8, 8], [24, undefined], [4096, undefined]] as const) {
    const d = f(`cfg-ok-window-${w}`);
    await writeHfLlamaFolder(d, 'mistral', m.cfg, params.get('llama')!, { config: { sliding_window: w } });
    assert.equal((await readCheckpoint(d)).config, pickConfig({ ...m.cfg, slidingWindow: want }), `sliding_window ${w}`);
  }
  // Qwen3 with its head_dim omitted: hidden_size / num_attention_heads
  const qwen3 = { ...m.cfg, qkNorm: 'head' as const };
  const dir = f('cfg-ok-qwen3');
  await writeHfLlamaFolder(dir, 'qwen3', qwen3, randomReferenceParameters(qwen3, rng), { config: { head_dim: undefined } });
  assert.equal((await readCheckpoint(dir)).config, pickConfig(qwen3));
  for (const [i, [extra, type]] of ok.entries()) {
    const dir = f(`cfg-ok-${i}`);
    await writeHfLlamaFolder(dir, type, m.cfg, params.get('llama')!, { config: extra });
    assert.equal((await readCheckpoint(dir)).config, pickConfig(m.cfg));
  }
});

test('Phi-3 longrope variants read to the same config; config.json as the released 128k models have it', async () => {
  const m = MODELS.find((x) => x.name === 'phi3-longrope')!;
  const s = m.cfg.ropeScaling as Extract<GPTConfig['ropeScaling'], { type: 'longrope' }>;
  const p = params.get(m.name)!;
  const lists = { short_factor: s.shortFactor, long_factor: s.longFactor };
  const cases: [Record<string, unknown>, GPTConfig][] = [
    // the first Phi-3 128k configs' "su"
    [{ rope_scaling: { type: 'su', ...lists } }, m.cfg],
    // transformers 5: rope_parameters with rope_theta and the original context inside
    [{ rope_scaling: undefined, rope_theta: undefined, original_max_position_embeddings: undefined,
      rope_parameters: { rope_type: 'longrope', rope_theta: 100, ...lists, original_max_position_embeddings: 6 } }, m.cfg],
    // factor equal to max / original max: both transformers agree
    [{ rope_scaling: { type: 'longrope', ...lists, factor: 16 / 6 } }, m.cfg],
    // an attention factor given: used as given
    [{ rope_scaling: { type: 'longrope', ...lists, attention_factor: 1.5 } }, { ...m.cfg, ropeScaling: { ...s, attentionFactor: 1.5 } }],
  ];
  for (const [i, [extra, want]] of cases.entries()) {
    const dir = f(`phi3-longrope-ok-${i}`);
    await writeHfLlamaFolder(dir, 'phi3', m.cfg, p, { config: extra });
    assert.equal((await readCheckpoint(dir)).config, pickConfig(want), `phi3 longrope ${i}`);
  }
  // saved: the released configs' three rope_scaling fields (transformers 4.4x's Phi3Config
  // refuses others) and original_max_position_embeddings; a non-default attention factor too
  using model = await GPT.load(f('phi3-longrope-F32-1'));
  await model.save(f('phi3-longrope-resaved'));
  const json = JSON.parse(await readFile(f('phi3-longrope-resaved', 'config.json'), 'utf8'));
  assert.equal(json.rope_scaling, { type: 'longrope', ...lists });
  assert.is(json.original_max_position_embeddings, 6);
  assert.is(json.max_position_embeddings, 16);
  using custom = await GPT.create({ ...m.cfg, ropeScaling: { ...s, attentionFactor: 1.5 }, seed: 1 });
  await custom.save(f('phi3-longrope-custom'));
  const json2 = JSON.parse(await readFile(f('phi3-longrope-custom', 'config.json'), 'utf8'));
  assert.is(json2.model_type, 'phi3');
  assert.equal(json2.rope_scaling, { type: 'longrope', ...lists, attention_factor: 1.5 });
  assert.equal((await readCheckpoint(f('phi3-longrope-custom'))).config, pickConfig({ ...m.cfg, ropeScaling: { ...s, attentionFactor: 1.5 } }));
  // longrope with biases: no Hugging Face model type has both
  using biased = await GPT.create({ ...m.cfg, qkvBias: true, seed: 1 });
  await rejects(biased.save(f('phi3-longrope-biased')), /ropeScaling 'longrope' with qkvBias true, .* has no Hugging Face model type/);
});

test('Qwen window variants read to the same config; a switch a config.json cannot hold is refused on save', async () => {
  const q = MODELS.find((x) => x.name === 'qwen2-window')!;
  const p = params.get(q.name)!;
  const cases: [Record<string, unknown>, GPTConfig][] = [
    [{ layer_types: ['full_attention', 'sliding_attention'], max_window_layers: undefined }, q.cfg],
    [{ max_window_layers: 0 }, { ...q.cfg, layerTypes: undefined }], // the window on every layer
    [{ max_window_layers: 2 }, { ...q.cfg, layerTypes: undefined, slidingWindow: undefined }], // on none
    [{ use_sliding_window: false }, { ...q.cfg, layerTypes: undefined, slidingWindow: undefined }],
  ];
  for (const [i, [extra, want]] of cases.entries()) {
    const dir = f(`qwen-window-ok-${i}`);
    await writeHfLlamaFolder(dir, 'qwen2', q.cfg, p, { config: extra });
    assert.equal((await readCheckpoint(dir)).config, pickConfig(want), `qwen window ${i}`);
  }
  // Gemma's cap on a Llama, a window pattern Qwen's rule cannot say: refused before any file is written
  const llama = MODELS[0]!.cfg;
  for (const [extra, field] of [[{ attnSoftcap: 5 }, 'attnSoftcap 5'], [{ normWeightOffset: 1 }, 'normWeightOffset 1'],
    [{ qkvBias: true, slidingWindow: 4, layerTypes: ['local', 'global'] }, 'layerTypes']] as const) {
    using model = await GPT.create({ ...llama, ...extra, seed: 1 });
    const out = f(`refused-save-${field.split(' ')[0]}`);
    await rejects(model.save(out), new RegExp(field === 'layerTypes' ? 'layerTypes \\["local","global"\\] are not global up to a layer and local from it'
      : `${field} cannot be written in a \\w+ config\\.json .*save to a \\.safetensors file`));
    assert.not.ok(await stat(out).catch(() => null), 'no folder written');
    await model.save(`${out}.safetensors`); // the own format holds it
    assert.equal((await readCheckpoint(`${out}.safetensors`)).config, pickConfig({ ...llama, ...extra }));
  }
});

test.run();
