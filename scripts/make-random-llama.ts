// Writes a Hugging Face Llama folder with random bf16 weights, for measuring loads and pattern
// extraction at a real model's size without downloading one:
//   node --import tsx scripts/make-random-llama.ts --out /tmp/llama-1b [--shape 1b|8b|tiny] [--shards N] [--seed S]
// --shape 1b (default) is Llama-3.2-1B's: vocabulary 128256, 16 layers, 32 query heads and 8
// key/value heads of size 64, hidden 2048, MLP 8192, llama3 rope scaling, tied embeddings:
// 1,235,814,400 parameters, 2.47 GB of bf16 (4.94 GB as f32). --shape 8b is Llama-3-8B's:
// 32 layers, 32 query heads and 8 key/value heads of size 128, hidden 4096, MLP 14336, rope
// theta 500000 without scaling, an untied LM head: 8,030,261,248 parameters, 16.06 GB of bf16
// (4 shards by default, as the original). --layers L keeps a shape but with L layers (a smaller
// model of the same widths, e.g. to measure loading below the machine's memory). Weights are drawn uniformly with
// magnitudes between 2^-8 and 2^-5 (norm weights are 1), written tensor by tensor, so the script
// itself needs little memory. The folder also gets a byte-level tokenizer.json (256 byte tokens
// and Llama 3's special tokens at their ids) and a Llama-3-style chat template, so every
// command runs on it; its text is nonsense, its cost is a 1B model's.
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { out: { type: 'string' }, shape: { type: 'string', default: '1b' }, shards: { type: 'string' }, seed: { type: 'string', default: '1' }, layers: { type: 'string' } },
});
if (!args.out) {
  console.error('usage: node --import tsx scripts/make-random-llama.ts --out DIR [--shape 1b|8b|tiny] [--layers L] [--shards N] [--seed S]');
  process.exit(1);
}

const LLAMA3_SCALING = { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
const SHAPES = {
  '1b': { vocab: 128256, layers: 16, heads: 32, kvHeads: 8, hidden: 2048, ffn: 8192, maxPos: 131072, tied: true, scaling: LLAMA3_SCALING, shards: 1 },
  '8b': { vocab: 128256, layers: 32, heads: 32, kvHeads: 8, hidden: 4096, ffn: 14336, maxPos: 8192, tied: false, scaling: null, shards: 4 },
  tiny: { vocab: 128256, layers: 2, heads: 4, kvHeads: 2, hidden: 64, ffn: 128, maxPos: 2048, tied: true, scaling: LLAMA3_SCALING, shards: 1 },
} as const;
const shape = SHAPES[args.shape as keyof typeof SHAPES];
if (!shape) throw new Error(`--shape: expected 1b, 8b or tiny, got ${args.shape}`);
const shards = Number(args.shards ?? shape.shards);
if (!Number.isInteger(shards) || shards < 1) throw new Error(`--shards: expected a positive integer, got ${args.shards}`);

const { vocab: V, heads: H, kvHeads: KV, hidden: C, ffn: F } = shape;
const L = args.layers === undefined ? shape.layers : Number(args.layers);
if (!Number.isInteger(L) || L < 1) throw new Error(`--layers: expected a positive integer, got ${args.layers}`);
const hs = C / H;
const config = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: V, max_position_embeddings: shape.maxPos,
  num_hidden_layers: L, num_attention_heads: H, num_key_value_heads: KV, hidden_size: C, head_dim: hs, intermediate_size: F,
  hidden_act: 'silu', rms_norm_eps: 1e-5, rope_theta: 500000,
  rope_scaling: shape.scaling,
  tie_word_embeddings: shape.tied, attention_bias: false, mlp_bias: false, bos_token_id: 128000, eos_token_id: 128009, torch_dtype: 'bfloat16',
};

// [name, shape, norm?] in the order LlamaForCausalLM lists them
const tensors: [string, number[], boolean][] = [['model.embed_tokens.weight', [V, C], false]];
for (let l = 0; l < L; l++) {
  const p = `model.layers.${l}.`;
  tensors.push(
    [p + 'input_layernorm.weight', [C], true],
    [p + 'self_attn.q_proj.weight', [H * hs, C], false],
    [p + 'self_attn.k_proj.weight', [KV * hs, C], false],
    [p + 'self_attn.v_proj.weight', [KV * hs, C], false],
    [p + 'self_attn.o_proj.weight', [C, H * hs], false],
    [p + 'post_attention_layernorm.weight', [C], true],
    [p + 'mlp.gate_proj.weight', [F, C], false],
    [p + 'mlp.up_proj.weight', [F, C], false],
    [p + 'mlp.down_proj.weight', [C, F], false],
  );
}
tensors.push(['model.norm.weight', [C], true]);
if (!shape.tied) tensors.push(['lm_head.weight', [V, C], false]);
const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
const total = tensors.reduce((n, [, s]) => n + count(s), 0);

// xorshift32 -> bf16 bits: random sign and 7-bit mantissa, exponent 119..122 (2^-8 .. 2^-5)
let state = (Number(args.seed) * 2654435761) >>> 0 || 1;
function fillRandom(out: Uint16Array): void {
  for (let i = 0; i < out.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const r = state >>> 0;
    out[i] = (r & 0x807f) | ((119 + ((r >>> 8) & 3)) << 7);
  }
}

async function writeShard(file: string, list: typeof tensors): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const [name, s] of list) {
    header[name] = { dtype: 'BF16', shape: s, data_offsets: [off, off + count(s) * 2] };
    off += count(s) * 2;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const head = Buffer.alloc(8 + json.length);
  head.writeBigUInt64LE(BigInt(json.length));
  head.write(json, 8);
  const fh = await open(file, 'w');
  try {
    await fh.write(head);
    const chunk = new Uint16Array(1 << 22);
    for (const [, s, norm] of list) {
      for (let left = count(s); left > 0; left -= chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, left));
        if (norm) part.fill(0x3f80); // 1.0
        else fillRandom(part);
        await fh.write(new Uint8Array(part.buffer, 0, part.byteLength));
      }
    }
  } finally {
    await fh.close();
  }
}

const out = path.resolve(args.out);
await mkdir(out, { recursive: true });
await writeFile(path.join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
if (shards === 1) {
  await writeShard(path.join(out, 'model.safetensors'), tensors);
} else {
  const per = Math.ceil(tensors.length / shards);
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < shards; i++) {
    const name = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const list = tensors.slice(i * per, (i + 1) * per);
    for (const [t] of list) weightMap[t] = name;
    await writeShard(path.join(out, name), list);
  }
  await writeFile(path.join(out, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total * 2 }, weight_map: weightMap }, null, 2));
}

// A byte-level tokenizer (GPT-2's byte -> character map) with Llama 3's special tokens.
const keep: number[] = [];
for (let b = 33; b <= 126; b++) keep.push(b);
for (let b = 161; b <= 172; b++) keep.push(b);
for (let b = 174; b <= 255; b++) keep.push(b);
const vocabMap: Record<string, number> = {};
let extra = 0;
for (let b = 0; b < 256; b++) vocabMap[String.fromCodePoint(keep.includes(b) ? b : 256 + extra++)] = b;
const specials: [string, number][] = [
  ['<|begin_of_text|>', 128000], ['<|end_of_text|>', 128001], ['<|start_header_id|>', 128006], ['<|end_header_id|>', 128007], ['<|eot_id|>', 128009],
];
const tokenizer = {
  version: '1.0', truncation: null, padding: null,
  added_tokens: specials.map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] } },
  },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: vocabMap, merges: [] },
};
const chatTemplate =
  "{{- bos_token }}{%- for m in messages %}{{- '<|start_header_id|>' + m.role + '<|end_header_id|>\\n\\n' + (m.content | trim) + '<|eot_id|>' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";
await writeFile(path.join(out, 'tokenizer.json'), JSON.stringify(tokenizer));
await writeFile(path.join(out, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>', chat_template: chatTemplate }, null, 2));
console.log(`wrote ${out}: ${total.toLocaleString('en')} parameters in ${shards} shard(s) of bf16 (${((total * 2) / 1e9).toFixed(2)} GB; ${((total * 4) / 1e9).toFixed(2)} GB as f32)`);
