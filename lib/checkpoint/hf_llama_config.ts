// Hugging Face config.json of a Llama-family model (model_type llama, mistral, qwen2, qwen3,
// olmo2, phi3) <-> GPTConfig.
//
// Read: every field that changes the computation is either mapped or refused, so a model the
// engine would compute differently fails here, before any weights are read, with an error that
// names the field:
//   vocab_size, max_position_embeddings, num_hidden_layers, num_attention_heads, hidden_size
//                          -> vocabSize, maxSeqLen, layers, heads, dim
//   num_key_value_heads    -> kvHeads (default num_attention_heads; must divide it)
//   intermediate_size      -> ffnDim;  rms_norm_eps -> normEps;  rope_theta -> ropeTheta
//   rope_scaling (or transformers 5's rope_parameters): none/default, linear, llama3; phi3 also
//                          longrope (older configs: "su"; transformers maps "yarn" there too):
//                          short_factor, long_factor, original_max_position_embeddings (in
//                          rope_parameters or at the top), attention_factor or its default
//   tie_word_embeddings    -> tiedEmbeddings (default false, as in transformers)
//   attention_bias + mlp_bias (llama) -> qkvBias and linearBias: both false or both true
//                          (attention_bias also puts a bias on o_proj, which the engine ties to the MLP biases)
//   qwen2                  -> q/k/v biases, no other linear bias
//   qwen3                  -> head_dim -> headDim (any size), qkNorm 'head'; attention_bias refused
//   olmo2                  -> qkNorm 'projection', normPlacement 'post'; attention_bias refused
//   mistral, phi3: sliding_window shorter than max_position_embeddings -> slidingWindow (Mistral
//                          v0.1's 4096, Phi-3 mini's 2047); phi3: fused qkv_proj / gate_up_proj
//                          (hf_names.ts), no biases; attention_bias refused
//   qwen2, qwen3 with use_sliding_window: sliding_window -> slidingWindow on the layers that
//                          layer_types marks sliding_attention, or else on the layers from
//                          max_window_layers on (transformers' rule) -> layerTypes
// Refused: hidden_act other than silu, head_dim other than hidden_size / num_attention_heads
// (except qwen3), a layer_types entry other than full_attention (qwen2, qwen3 with their window:
// also sliding_attention), other rope types (dynamic, yarn, longrope outside phi3, ...),
// partial_rotary_factor other than 1 (Phi-4-mini), mixture-of-experts fields, quantized weights
// (quantization_config), and any other model_type.
import { pickConfig, resolveConfig, type GPTConfig } from './layout.js';
import { HeadgradError, HeadgradRangeError } from '../errors.js';

export const LLAMA_FAMILY = ['llama', 'mistral', 'qwen2', 'qwen3', 'olmo2', 'phi3'] as const;
export type LlamaFamily = (typeof LLAMA_FAMILY)[number];

export function isLlamaFamily(t: unknown): t is LlamaFamily {
  return LLAMA_FAMILY.includes(t as LlamaFamily);
}

/** Throws an Error whose message names the config.json field; `fail` adds the file. */
export function llamaConfigFromHf(json: Record<string, unknown>, fail: (problem: string) => never): GPTConfig {
  const type = json.model_type;
  if (!isLlamaFamily(type)) fail(`model_type ${JSON.stringify(type)} is not supported (llama, mistral, qwen2, qwen3, olmo2, phi3, gemma2, gemma3_text and gpt2 are)`);
  const int = (key: string, dflt?: number): number => {
    const v = json[key] ?? dflt;
    if (!Number.isInteger(v) || (v as number) <= 0) fail(`${key}: expected a positive integer, got ${JSON.stringify(json[key])}`);
    return v as number;
  };
  const num = (key: string, dflt: number): number => {
    const v = json[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`${key}: expected a positive number, got ${JSON.stringify(json[key])}`);
    return v as number;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = json[key] ?? dflt;
    if (typeof v !== 'boolean') fail(`${key}: expected true or false, got ${JSON.stringify(json[key])}`);
    return v as boolean;
  };

  for (const key of ['quantization_config']) if (json[key] != null) fail(`${key}: quantized weights are not supported`);
  for (const key of ['num_local_experts', 'num_experts', 'n_routed_experts', 'num_experts_per_tok']) {
    if (json[key] != null && json[key] !== 0) fail(`${key}: mixture-of-experts models are not supported`);
  }
  const act = json.hidden_act ?? json.hidden_activation ?? 'silu';
  if (act !== 'silu') fail(`hidden_act: ${JSON.stringify(act)} is not supported (silu is)`);

  const heads = int('num_attention_heads');
  const dim = int('hidden_size');
  // Qwen3 sizes its heads on their own (head_dim 128 with hidden_size 1024 and 16 heads)
  const freeHeadDim = type === 'qwen3';
  const headDim = freeHeadDim ? int('head_dim', Number.isInteger(dim / heads) ? dim / heads : undefined) : undefined;
  if (headDim === undefined) {
    if (dim % heads !== 0) fail(`hidden_size ${dim} is not divisible by num_attention_heads ${heads}`);
    if (json.head_dim != null && json.head_dim !== dim / heads) {
      fail(`head_dim: ${JSON.stringify(json.head_dim)} differs from hidden_size / num_attention_heads = ${dim / heads}, which the engine requires for ${type}`);
    }
  }
  const kvHeads = int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) fail(`num_key_value_heads ${kvHeads} does not divide num_attention_heads ${heads}`);
  const maxSeqLen = int('max_position_embeddings');

  // sliding-window attention differs from full attention only past the window
  const window = json.sliding_window;
  const qwen = type === 'qwen2' || type === 'qwen3';
  const windowUsed = qwen ? json.use_sliding_window === true : window != null;
  // a window at least max_position_embeddings long never masks anything
  let slidingWindow = 0;
  let layerTypes: ('local' | 'global')[] | undefined;
  if (windowUsed && !(Number.isInteger(window) && (window as number) >= maxSeqLen)) {
    if (!(Number.isInteger(window) && (window as number) > 0)) {
      fail(`sliding_window: ${JSON.stringify(window)} is in use (shorter than max_position_embeddings ${maxSeqLen}): expected a positive integer`);
    }
    slidingWindow = window as number;
    if (qwen) layerTypes = qwenLayerTypes(json, int('num_hidden_layers'), fail);
  }
  if (layerTypes?.every((t) => t === 'local')) layerTypes = undefined; // the window on every layer
  if (layerTypes?.every((t) => t === 'global')) [layerTypes, slidingWindow] = [undefined, 0];
  if (json.layer_types != null && !layerTypes && !(qwen && slidingWindow)) {
    const kinds = json.layer_types;
    if (!Array.isArray(kinds)) fail(`layer_types: expected an array, got ${JSON.stringify(kinds)}`);
    const other = (kinds as unknown[]).findIndex((k) => k !== 'full_attention');
    if (other >= 0 && !(Number.isInteger(window) && (window as number) >= maxSeqLen)) {
      fail(`layer_types[${other}]: ${JSON.stringify((kinds as unknown[])[other])} is not supported (full_attention is)`);
    }
  }

  const { ropeTheta, ropeScaling } = rope(json, fail);
  let qkvBias: boolean;
  let linearBias: boolean;
  if (type === 'qwen2') {
    qkvBias = true;
    linearBias = false;
  } else if (type === 'qwen3' || type === 'olmo2' || type === 'phi3') {
    // their attention_bias puts biases on q, k, v and o_proj but not on the MLP
    if (bool('attention_bias', false)) fail(`attention_bias: true is not supported for ${type} (biases on q/k/v/o without MLP biases)`);
    qkvBias = false;
    linearBias = false;
  } else {
    const attention = bool('attention_bias', false);
    const mlp = bool('mlp_bias', false);
    if (attention !== mlp) fail(`attention_bias ${attention} with mlp_bias ${mlp} is not supported (the engine has o_proj and MLP biases together: both true or both false)`);
    qkvBias = attention;
    linearBias = attention;
  }
  return {
    vocabSize: int('vocab_size'), maxSeqLen, layers: int('num_hidden_layers'), heads, dim,
    kvHeads, ffnDim: int('intermediate_size'), norm: 'rmsnorm', normEps: num('rms_norm_eps', 1e-6),
    positions: 'rope', ropeTheta, ropeScaling, mlp: 'swiglu', qkvBias, linearBias,
    tiedEmbeddings: bool('tie_word_embeddings', false),
    ...(headDim !== undefined ? { headDim } : {}),
    ...(type === 'qwen3' ? { qkNorm: 'head' } : {}),
    ...(type === 'olmo2' ? { qkNorm: 'projection', normPlacement: 'post' } : {}),
    ...(slidingWindow ? { slidingWindow } : {}),
    ...(layerTypes ? { layerTypes } : {}),
  } as GPTConfig;
}

// Qwen2/Qwen3's windowed layers: layer_types, or (transformers' default for it) the layers from
// max_window_layers on.
function qwenLayerTypes(json: Record<string, unknown>, layers: number, fail: (p: string) => never): ('local' | 'global')[] {
  if (json.layer_types != null) {
    const kinds = json.layer_types;
    if (!Array.isArray(kinds) || kinds.length !== layers) fail(`layer_types: expected an array of ${layers} entries, got ${JSON.stringify(kinds)}`);
    return (kinds as unknown[]).map((k, i) => {
      if (k === 'sliding_attention') return 'local';
      if (k === 'full_attention') return 'global';
      return fail(`layer_types[${i}]: ${JSON.stringify(k)} is not supported (sliding_attention and full_attention are)`);
    });
  }
  const from = json.max_window_layers ?? 28;
  if (!Number.isInteger(from) || (from as number) < 0) fail(`max_window_layers: expected an integer >= 0, got ${JSON.stringify(json.max_window_layers)}`);
  return Array.from({ length: layers }, (_, i) => (i >= (from as number) ? 'local' : 'global'));
}

/**
 * The Hugging Face model type that computes what this Llama-family config computes: `preferred`
 * (the type the model was loaded as) when its config.json reads back to the same config, else
 * the plainest type that does.
 */
export function llamaFamilyOf(config: GPTConfig, preferred?: string): LlamaFamily {
  if (isLlamaFamily(preferred) && preferred !== llamaFamilyOf(config) && roundTrips(config, preferred)) return preferred;
  const c = resolveConfig(config);
  if (c.norm !== 'rmsnorm' || c.positions !== 'rope' || c.mlp !== 'swiglu') {
    throw new HeadgradRangeError(`config: norm ${c.norm}, positions ${c.positions}, mlp ${c.mlp} is neither GPT-2 nor a Llama-family model; Hugging Face has no model type for it`);
  }
  const plain = c.qkNorm === 'none' && c.normPlacement === 'pre' && c.headDim === c.dim / c.heads;
  if (c.qkNorm === 'head' && c.normPlacement === 'pre' && !c.qkvBias && !c.linearBias) return 'qwen3';
  if (c.qkNorm === 'projection' && c.normPlacement === 'post' && c.headDim === c.dim / c.heads && !c.qkvBias && !c.linearBias) return 'olmo2';
  if (!plain) {
    throw new HeadgradRangeError(`config: headDim ${c.headDim}, qkNorm '${c.qkNorm}', normPlacement '${c.normPlacement}' with qkvBias ${c.qkvBias}, linearBias ${c.linearBias} has no Hugging Face model type (qwen3: qkNorm 'head' without biases; olmo2: qkNorm 'projection', normPlacement 'post', without biases)`);
  }
  // longrope: only Phi-3's config.json has it, and only its generation recomputes the cache where
  // the long factors take over (as the engine does)
  if (c.ropeScaling?.type === 'longrope') {
    if (c.qkvBias || c.linearBias || c.layerTypes) {
      throw new HeadgradRangeError(`config: ropeScaling 'longrope' with qkvBias ${c.qkvBias}, linearBias ${c.linearBias}, layerTypes ${JSON.stringify(c.layerTypes)} has no Hugging Face model type (phi3 has no biases and one window for every layer)`);
    }
    return 'phi3';
  }
  if (c.slidingWindow > 0) {
    // a window on some layers only: Qwen2's per-layer rule (q/k/v biases) or Llama's (none: Qwen2's rule needs the biases)
    if (c.qkvBias && !c.linearBias) return 'qwen2';
    if (c.qkvBias || c.linearBias) throw new HeadgradRangeError(`config: slidingWindow ${c.slidingWindow} with biases has no Hugging Face model type (mistral and phi3 have none, qwen2 q/k/v biases only)`);
    if (c.layerTypes) throw new HeadgradRangeError(`config: layerTypes ${JSON.stringify(c.layerTypes)} without q/k/v biases has no Hugging Face model type (qwen2 has them, qwen3 has qkNorm 'head'; gemma2 and gemma3_text have mlp 'geglu')`);
    return 'mistral';
  }
  if (c.qkvBias && !c.linearBias) return 'qwen2';
  if (c.qkvBias !== c.linearBias) throw new HeadgradRangeError('config: linear biases without q/k/v biases have no Hugging Face model type');
  return 'llama';
}

function roundTrips(config: GPTConfig, type: LlamaFamily): boolean {
  try {
    const back = llamaConfigFromHf(llamaConfigToHf(config, type), (p) => {
      throw new HeadgradError('ERR_HEADGRAD_CHECKPOINT', p);
    });
    return JSON.stringify(pickConfig(back)) === JSON.stringify(pickConfig(config));
  } catch {
    return false;
  }
}

type RopeScaling = GPTConfig['ropeScaling'];

// transformers 4 writes rope_theta at the top and rope_scaling beside it; transformers 5 writes
// both into rope_parameters ({rope_type, rope_theta, factor, ...}).
export function rope(json: Record<string, unknown>, fail: (p: string) => never): { ropeTheta: number; ropeScaling: RopeScaling } {
  const params = json.rope_parameters as Record<string, unknown> | undefined;
  const field = params != null ? 'rope_parameters' : 'rope_scaling';
  const s = (params ?? json.rope_scaling) as Record<string, unknown> | null | undefined;
  if (s != null && (typeof s !== 'object' || Array.isArray(s))) fail(`${field}: expected an object or null, got ${JSON.stringify(s)}`);
  const theta = s?.rope_theta ?? json.rope_theta ?? 10000;
  if (typeof theta !== 'number' || !(theta > 0)) fail(`rope_theta: expected a positive number, got ${JSON.stringify(theta)}`);
  const kind = s?.rope_type ?? s?.type ?? 'default';
  const positive = (key: string) => {
    const v = s![key];
    if (typeof v !== 'number' || !(v > 0)) fail(`${field}.${key}: expected a positive number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  // first: Phi-4-mini (phi3, longrope) has lists for its 75% rotary part, which would otherwise
  // be refused as the wrong length; transformers 5 moves the field into rope_parameters
  const partial = s?.partial_rotary_factor ?? json.partial_rotary_factor;
  if (partial != null && partial !== 1) {
    fail(`partial_rotary_factor: ${JSON.stringify(partial)} is not supported (rotary on the whole head)`);
  }
  let scaling: RopeScaling;
  const phi3 = json.model_type === 'phi3';
  if (s == null || kind === 'default') scaling = null;
  else if (kind === 'linear') scaling = { type: 'linear', factor: positive('factor') };
  else if (kind === 'llama3') {
    scaling = {
      type: 'llama3', factor: positive('factor'), lowFreqFactor: positive('low_freq_factor'), highFreqFactor: positive('high_freq_factor'),
      originalMaxPositions: positive('original_max_position_embeddings'),
    };
  } else if (phi3 && (kind === 'longrope' || kind === 'su' || kind === 'yarn')) {
    scaling = longrope(json, s!, field, fail);
  } else {
    fail(`${field}.rope_type: ${JSON.stringify(kind)} is not supported (none, linear and llama3 are; longrope for phi3)`);
  }
  return { ropeTheta: theta as number, ropeScaling: scaling! };
}

// Hugging Face's default longrope attention factor (_compute_longrope_parameters), from the
// context extension s = max_position_embeddings / original_max_position_embeddings.
function longropeAttention(maxPositions: number, originalMax: number): number {
  const s = maxPositions / originalMax;
  return s <= 1 ? 1 : Math.sqrt(1 + Math.log(s) / Math.log(originalMax));
}

// Phi-3 128k / Phi-3.5's longrope: the lists, the original context (transformers 5 moves it into
// rope_parameters), and the attention factor as given or as transformers derives it.
function longrope(json: Record<string, unknown>, s: Record<string, unknown>, field: string,
  fail: (p: string) => never): RopeScaling {
  const half = (json.hidden_size as number) / (json.num_attention_heads as number) / 2;
  const list = (key: string): number[] => {
    const v = s[key];
    if (!Array.isArray(v) || v.length !== half || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      fail(`${field}.${key}: expected ${half} positive numbers (head_dim / 2), got ${JSON.stringify(v)}`);
    }
    return v as number[];
  };
  const shortFactor = list('short_factor'), longFactor = list('long_factor');
  const inParams = s.original_max_position_embeddings != null;
  const originalMax = inParams ? s.original_max_position_embeddings : json.original_max_position_embeddings;
  if (!Number.isInteger(originalMax) || (originalMax as number) <= 0) {
    fail(`${inParams ? `${field}.` : ''}original_max_position_embeddings: longrope needs a positive integer, got ${JSON.stringify(originalMax)}`);
  }
  const maxPositions = json.max_position_embeddings as number;
  let attentionFactor = s.attention_factor;
  if (attentionFactor == null) {
    // transformers 4 derives it from max / original max, transformers 5 from `factor` when given
    const ratio = maxPositions / (originalMax as number);
    if (s.factor != null && s.factor !== ratio) {
      fail(`${field}.factor: ${JSON.stringify(s.factor)} differs from max_position_embeddings / original_max_position_embeddings = ${ratio}, which transformers 4 uses for the attention factor instead (transformers 5 uses factor); give attention_factor`);
    }
    attentionFactor = longropeAttention(maxPositions, originalMax as number);
  }
  if (typeof attentionFactor !== 'number' || !Number.isFinite(attentionFactor) || attentionFactor <= 0) {
    fail(`${field}.attention_factor: expected a positive number, got ${JSON.stringify(attentionFactor)}`);
  }
  return { type: 'longrope', shortFactor, longFactor, originalMaxPositions: originalMax as number, attentionFactor: attentionFactor as number };
}

// Qwen2/Qwen3's window fields: off, or on from max_window_layers on (older transformers read
// only that), with layer_types spelled out (newer ones read it first).
function qwenWindowToHf(c: ReturnType<typeof resolveConfig>): Record<string, unknown> {
  if (c.slidingWindow === 0) return { use_sliding_window: false, sliding_window: null };
  const types = c.layerTypes ?? Array.from({ length: c.layers }, () => 'local' as const);
  const from = types.indexOf('local');
  if (from < 0 || types.slice(from).some((t) => t !== 'local')) {
    throw new HeadgradRangeError(`config: layerTypes ${JSON.stringify(types)} are not global up to a layer and local from it, which is all a qwen2/qwen3 config.json can say`);
  }
  return {
    use_sliding_window: true, sliding_window: c.slidingWindow, max_window_layers: from,
    layer_types: types.map((t) => (t === 'local' ? 'sliding_attention' : 'full_attention')),
  };
}

/** The size fields every Llama-family and Gemma config.json has. */
export function hfSizes(c: ReturnType<typeof resolveConfig>): Record<string, number> {
  return {
    vocab_size: c.vocabSize, max_position_embeddings: c.maxSeqLen, num_hidden_layers: c.layers, num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads, hidden_size: c.dim, head_dim: c.headDim, intermediate_size: c.ffnDim,
  };
}

/** ropeScaling -> config.json's rope_scaling (maxSeqLen: its max_position_embeddings). */
export function ropeScalingToHf(s: RopeScaling, maxSeqLen: number): Record<string, unknown> | null {
  if (!s) return null;
  if (s.type === 'linear') return { rope_type: 'linear', factor: s.factor };
  if (s.type === 'llama3') {
    return {
      rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor,
      original_max_position_embeddings: s.originalMaxPositions,
    };
  }
  // the released configs' three fields; transformers before the shared rope code (4.4x's
  // Phi3Config) refuses any other key, so attention_factor is written only where it is not
  // the default that max_position_embeddings and original_max_position_embeddings give
  const derived = longropeAttention(maxSeqLen, s.originalMaxPositions);
  return {
    type: 'longrope', short_factor: s.shortFactor, long_factor: s.longFactor,
    ...(s.attentionFactor !== derived ? { attention_factor: s.attentionFactor } : {}),
  };
}

/** GPTConfig (Llama family) -> config.json that transformers reads back into the same model. */
export function llamaConfigToHf(config: GPTConfig, as?: LlamaFamily): Record<string, unknown> {
  const c = resolveConfig(config);
  const type = as ?? llamaFamilyOf(config);
  const { qkvBias, linearBias } = c;
  const ropeScaling = ropeScalingToHf(c.ropeScaling, c.maxSeqLen);
  const originalMax = c.ropeScaling?.type === 'longrope' ? c.ropeScaling.originalMaxPositions : c.maxSeqLen;
  const architecture = {
    llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', olmo2: 'Olmo2ForCausalLM',
    phi3: 'Phi3ForCausalLM',
  }[type];
  const window = c.slidingWindow > 0 ? c.slidingWindow : null;
  const typeFields: Record<string, unknown> = type === 'qwen2' || type === 'qwen3'
    ? { ...qwenWindowToHf(c), ...(type === 'qwen3' ? { attention_bias: false } : {}) }
    : type === 'olmo2' ? { attention_bias: false }
    : type === 'mistral' ? { sliding_window: window }
    : type === 'phi3' ? { sliding_window: window, original_max_position_embeddings: originalMax }
    : { attention_bias: qkvBias, mlp_bias: linearBias };
  return {
    architectures: [architecture],
    model_type: type,
    ...hfSizes(c),
    hidden_act: 'silu',
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    rope_scaling: ropeScaling,
    tie_word_embeddings: c.tiedEmbeddings,
    ...typeFields,
    torch_dtype: 'float32',
  };
}
