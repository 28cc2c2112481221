// Hugging Face config.json of a Gemma 2 or Gemma 3 text model (model_type gemma2, gemma3_text)
// <-> GPTConfig. The same contract as hf_llama_config.ts: every field that changes the
// computation is mapped or refused, naming the field, before any weight is read.
//
//   vocab_size, max_position_embeddings, num_hidden_layers, num_attention_heads, hidden_size,
//   num_key_value_heads, head_dim, intermediate_size, rms_norm_eps   -> the sizes, headDim, normEps
//   hidden_activation (or hidden_act): gelu_pytorch_tanh            -> mlp 'geglu'
//   query_pre_attn_scalar                                           -> queryScale (scale scalar^-1/2)
//   attn_logit_softcapping, final_logit_softcapping (null: none)    -> attnSoftcap, finalSoftcap
//   sliding_window + layer_types, or the pattern (Gemma 2: every other layer from layer 0;
//     Gemma 3: sliding_window_pattern, layer i local unless (i + 1) % pattern = 0) -> slidingWindow, layerTypes
//   rope_theta, rope_scaling (or transformers 5's rope_parameters)  -> ropeTheta, ropeScaling (global layers;
//     Gemma 2's one rotary embedding serves every layer)
//   rope_local_base_freq (gemma3_text)                              -> ropeLocalTheta (local layers, unscaled)
//   tie_word_embeddings (default true, as transformers' Gemma)      -> tiedEmbeddings
//   attention_bias: false only
// Fixed by the family: RMSNorm with weight (1 + w) on every norm (normWeightOffset 1), norms before
// and after each sublayer (normPlacement 'both'), per-head Q/K norm (gemma3_text), and the
// embeddings times √hidden_size computed in the model's dtype, as transformers does (a
// normalizer tensor of the hidden states' dtype): √hidden_size rounded to torch_dtype (dtype in
// transformers 5; bfloat16 for every released Gemma, so √3072 = 55.43 becomes 55.5).
//
// model_type gemma3 (Gemma3ForConditionalGeneration: a text_config beside a vision tower, the text
// weights under language_model.*) is refused: its folder is not a text model's.
import { resolveConfig, type GPTConfig } from './layout.js';
import { HeadgradRangeError } from '../errors.js';
import { hfSizes, rope, ropeScalingToHf } from './hf_llama_config.js';

export const GEMMA_FAMILY = ['gemma2', 'gemma3_text'] as const;
export type GemmaFamily = (typeof GEMMA_FAMILY)[number];

export function isGemmaFamily(t: unknown): t is GemmaFamily {
  return GEMMA_FAMILY.includes(t as GemmaFamily);
}

// f32 -> bf16 -> f32, round to nearest even (as torch's cast)
function toBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = (u[0]! + 0x7fff + ((u[0]! >> 16) & 1)) & 0xffff0000;
  return f[0]!;
}

function toF16(x: number): number {
  const h = new Float32Array([x]);
  // f16 has 11 significant bits: round the f32 mantissa to 10 stored bits (normal range only,
  // which every √hidden_size is)
  const u = new Uint32Array(h.buffer);
  u[0] = (u[0]! + 0xfff + ((u[0]! >> 13) & 1)) & 0xffffe000;
  return h[0]!;
}

const ROUND: Record<string, (x: number) => number> = { float32: Math.fround, bfloat16: toBf16, float16: toF16 };

/** √hidden_size in the dtype transformers computes Gemma's embedding normalizer in. */
export function gemmaEmbedScale(hidden: number, dtype: string): number {
  return ROUND[dtype]!(Math.sqrt(hidden));
}

/** Throws an Error whose message names the config.json field; `fail` adds the file. */
export function gemmaConfigFromHf(json: Record<string, unknown>, fail: (problem: string) => never): GPTConfig {
  const type = json.model_type;
  if (!isGemmaFamily(type)) fail(`model_type ${JSON.stringify(type)} is not a Gemma text model (gemma2, gemma3_text)`);
  const gemma3 = type === 'gemma3_text';
  const int = (key: string, dflt?: number): number => {
    const v = json[key] ?? dflt;
    if (!Number.isInteger(v) || (v as number) <= 0) fail(`${key}: expected a positive integer, got ${JSON.stringify(json[key])}`);
    return v as number;
  };
  const num = (key: string, dflt: number | null): number => {
    const v = key in json ? json[key] : dflt;
    if (v === null) return 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`${key}: expected a positive number${dflt === null ? ' or null' : ''}, got ${JSON.stringify(json[key])}`);
    return v as number;
  };

  for (const key of ['quantization_config']) if (json[key] != null) fail(`${key}: quantized weights are not supported`);
  for (const key of ['num_local_experts', 'num_experts', 'num_experts_per_tok']) {
    if (json[key] != null && json[key] !== 0) fail(`${key}: mixture-of-experts models are not supported`);
  }
  // transformers' Gemma MLP reads hidden_activation; Gemma 2's config.json also carries hidden_act
  const actKey = json.hidden_activation != null ? 'hidden_activation' : 'hidden_act';
  const act = json[actKey] ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh') fail(`${actKey}: ${JSON.stringify(act)} is not supported (gelu_pytorch_tanh is)`);
  if (json.attention_bias === true) fail('attention_bias: true is not supported for Gemma (biases on q/k/v/o without MLP biases)');
  if (json.use_bidirectional_attention === true) fail('use_bidirectional_attention: true (EmbeddingGemma) is not supported (causal attention is)');

  const heads = int('num_attention_heads');
  const dim = int('hidden_size');
  const headDim = int('head_dim', 256);
  const kvHeads = int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) fail(`num_key_value_heads ${kvHeads} does not divide num_attention_heads ${heads}`);
  const layers = int('num_hidden_layers');
  const maxSeqLen = int('max_position_embeddings');

  // which layers are local: layer_types when given, else the family's pattern
  const slidingWindow = int('sliding_window', 4096);
  let layerTypes: ('local' | 'global')[];
  if (json.layer_types != null) {
    const kinds = json.layer_types;
    if (!Array.isArray(kinds) || kinds.length !== layers) fail(`layer_types: expected an array of ${layers} entries, got ${JSON.stringify(kinds)}`);
    layerTypes = (kinds as unknown[]).map((k, i) => {
      if (k === 'sliding_attention') return 'local';
      if (k === 'full_attention') return 'global';
      return fail(`layer_types[${i}]: ${JSON.stringify(k)} is not supported (sliding_attention and full_attention are)`);
    });
  } else {
    const pattern = gemma3 ? int('sliding_window_pattern', 6) : 2;
    layerTypes = Array.from({ length: layers }, (_, i) => ((i + 1) % pattern !== 0 ? 'local' : 'global'));
  }

  // Gemma 3's rotary embeddings: one per layer kind; transformers 5 nests them in
  // rope_parameters {full_attention: {...}, sliding_attention: {...}}
  const params = json.rope_parameters as Record<string, unknown> | null | undefined;
  const perKind = params != null && typeof params === 'object' && ('full_attention' in params || 'sliding_attention' in params);
  const globalJson = perKind ? { ...json, rope_parameters: params!.full_attention ?? null } : json;
  const { ropeTheta, ropeScaling } = rope({ rope_theta: gemma3 ? 1000000 : 10000, ...globalJson }, fail);
  let ropeLocalTheta = 0;
  if (gemma3) {
    const local = perKind ? params!.sliding_attention as Record<string, unknown> | undefined : undefined;
    if (local != null && (local.rope_type ?? 'default') !== 'default') {
      fail(`rope_parameters.sliding_attention.rope_type: ${JSON.stringify(local.rope_type)} is not supported (the local layers' rotary embedding is unscaled)`);
    }
    const theta = local != null ? local.rope_theta : json.rope_local_base_freq ?? 10000;
    if (typeof theta !== 'number' || !(theta > 0)) fail(`${local != null ? 'rope_parameters.sliding_attention.rope_theta' : 'rope_local_base_freq'}: expected a positive number, got ${JSON.stringify(theta)}`);
    ropeLocalTheta = theta as number;
  }

  const dtype = json.dtype ?? json.torch_dtype ?? 'float32';
  if (typeof dtype !== 'string' || !(dtype in ROUND)) fail(`torch_dtype: ${JSON.stringify(dtype)} is not supported (float32, bfloat16 and float16 are; it sets the dtype of the embedding scale √hidden_size)`);
  const tied = json.tie_word_embeddings ?? true;
  if (typeof tied !== 'boolean') fail(`tie_word_embeddings: expected true or false, got ${JSON.stringify(tied)}`);

  const softcap = (key: string) => num(key, gemma3 ? null : key === 'attn_logit_softcapping' ? 50 : 30);
  const attnSoftcap = softcap('attn_logit_softcapping');
  const finalSoftcap = softcap('final_logit_softcapping');
  return {
    vocabSize: int('vocab_size'), maxSeqLen, layers, heads, dim, kvHeads, ffnDim: int('intermediate_size'),
    norm: 'rmsnorm', normEps: num('rms_norm_eps', 1e-6), positions: 'rope', ropeTheta, ropeScaling,
    mlp: 'geglu', qkvBias: false, linearBias: false, tiedEmbeddings: tied as boolean, headDim,
    ...(gemma3 ? { qkNorm: 'head' } : {}),
    normPlacement: 'both', slidingWindow, layerTypes,
    ...(ropeLocalTheta ? { ropeLocalTheta } : {}),
    normWeightOffset: 1, embedScale: gemmaEmbedScale(dim, dtype as string),
    ...(attnSoftcap ? { attnSoftcap } : {}),
    ...(finalSoftcap ? { finalSoftcap } : {}),
    queryScale: num('query_pre_attn_scalar', 256),
  } as GPTConfig;
}

/**
 * The Gemma model type that computes what this config computes, or null when it is no Gemma
 * (geglu, 1 + w norms, pre + post norms, no biases). Throws, naming the field, for a config that
 * is Gemma-shaped but has no faithful config.json.
 */
export function gemmaFamilyOf(config: GPTConfig): GemmaFamily | null {
  const c = resolveConfig(config);
  if (c.mlp !== 'geglu') return null;
  const no = (why: string): never => {
    throw new HeadgradRangeError(`config: ${why}; Hugging Face has no model type for it (gemma2, gemma3_text: rmsnorm, rope, normPlacement 'both', normWeightOffset 1, no biases)`);
  };
  if (c.norm !== 'rmsnorm' || c.positions !== 'rope' || c.normPlacement !== 'both' || c.normWeightOffset !== 1 || c.qkvBias || c.linearBias) {
    no(`mlp 'geglu' with norm ${c.norm}, positions ${c.positions}, normPlacement '${c.normPlacement}', normWeightOffset ${c.normWeightOffset}, qkvBias ${c.qkvBias}, linearBias ${c.linearBias}`);
  }
  if (c.qkNorm === 'projection') no("qkNorm 'projection' with mlp 'geglu'");
  return c.qkNorm === 'head' ? 'gemma3_text' : 'gemma2';
}

/** GPTConfig (a Gemma) -> config.json that transformers reads back into the same model. */
export function gemmaConfigToHf(config: GPTConfig, type: GemmaFamily): Record<string, unknown> {
  const c = resolveConfig(config);
  const gemma3 = type === 'gemma3_text';
  const fail = (why: string): never => {
    throw new HeadgradRangeError(`config: ${why}, which a ${type} config.json cannot say`);
  };
  // the dtype whose rounding of √hidden_size is the embedding scale (float32 first: tensors are written as F32)
  const dtype = ['float32', 'bfloat16', 'float16'].find((d) => gemmaEmbedScale(c.dim, d) === c.embedScale)
    ?? fail(`embedScale ${c.embedScale} is not √hidden_size (${Math.sqrt(c.dim)}) in float32, bfloat16 or float16`);
  // every layer global without a window: a window as long as the context masks nothing
  const types = c.layerTypes ?? Array.from({ length: c.layers }, () => (c.slidingWindow > 0 ? 'local' : 'global'));
  const window = c.slidingWindow > 0 ? c.slidingWindow : c.maxSeqLen;
  // older transformers ignore layer_types and derive the kinds from the family's pattern: write only patterns they derive
  const pattern = gemma3 ? types.findIndex((t) => t === 'global') + 1 : 2;
  const follows = pattern > 0 && types.every((t, i) => t === ((i + 1) % pattern !== 0 ? 'local' : 'global'));
  if (!follows && !(gemma3 && types.every((t) => t === 'local'))) {
    fail(`layerTypes ${JSON.stringify(types)} ${gemma3 ? 'are not local with every k-th layer global' : 'do not alternate local, global from layer 0'}`);
  }
  if (!gemma3 && c.ropeLocalTheta > 0) fail(`ropeLocalTheta ${c.ropeLocalTheta} (gemma2 has one rotary embedding)`);
  if (gemma3 && c.ropeLocalTheta === 0 && c.ropeScaling) fail('ropeScaling without ropeLocalTheta (gemma3_text local layers are unscaled)');
  return {
    architectures: [gemma3 ? 'Gemma3ForCausalLM' : 'Gemma2ForCausalLM'],
    model_type: type,
    ...hfSizes(c),
    hidden_activation: 'gelu_pytorch_tanh',
    ...(gemma3 ? {} : { hidden_act: 'gelu_pytorch_tanh' }),
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    rope_scaling: ropeScalingToHf(c.ropeScaling, c.maxSeqLen),
    ...(gemma3 ? { rope_local_base_freq: c.ropeLocalTheta || c.ropeTheta, sliding_window_pattern: follows ? pattern : c.layers + 1 } : {}),
    query_pre_attn_scalar: c.queryScale || c.headDim,
    attn_logit_softcapping: c.attnSoftcap || null,
    final_logit_softcapping: c.finalSoftcap || null,
    sliding_window: window,
    layer_types: types.map((t) => (t === 'local' ? 'sliding_attention' : 'full_attention')),
    attention_bias: false,
    tie_word_embeddings: c.tiedEmbeddings,
    torch_dtype: dtype,
  };
}
