// Hugging Face Llama / Mistral / Qwen2 / Qwen3 / OLMo 2 / Phi-3 / Gemma 2 / Gemma 3 (text) folders for tests, written independently of
// lib/checkpoint: the tensor slicing follows the reference model's layout (helpers/
// reference_model.ts) and the names and config fields are written out here as transformers
// uses them, so a loader bug cannot hide behind a matching writer bug.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { referenceLayout, resolveReferenceConfig, type ReferenceConfig } from './reference_model.js';
import { safetensorsBytes, type Dtype, type NamedTensor } from './checkpoint_writers.js';

export type LlamaType = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'olmo2' | 'phi3' | 'gemma2' | 'gemma3_text';

/** LlamaForCausalLM / Qwen2ForCausalLM state-dict tensors of the canonical params. */
export function hfLlamaTensors(cfg: ReferenceConfig, params: Float32Array, type: LlamaType = 'llama'): NamedTensor[] {
  const c = resolveReferenceConfig(cfg);
  const { layers: L, dim: C, heads: H, kvHeads: KV, ffnDim: F, hs } = c;
  const t = Object.fromEntries(referenceLayout(cfg).map((x) => [x.name, params.subarray(x.offset, x.offset + x.size)]));
  const layer = (name: string, l: number) => t[name]!.subarray(l * (t[name]!.length / L), (l + 1) * (t[name]!.length / L));
  const out: NamedTensor[] = [['model.embed_tokens.weight', [c.vocabSize, C], t.wte!]];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    const qkv = layer('qkvw', l);
    // OLMo 2 (normPlacement 'post') has no input_layernorm; its post_attention_layernorm is the
    // norm after attention and post_feedforward_layernorm the one after the MLP. Gemma ('both')
    // has all four: input_layernorm, post_attention_layernorm (after attention),
    // pre_feedforward_layernorm and post_feedforward_layernorm.
    const post = c.normPlacement !== 'pre', pre = c.normPlacement !== 'post';
    if (pre) out.push([p + 'input_layernorm.weight', [C], layer('ln1w', l)]);
    if (type === 'phi3') {
      // Phi3Attention: one qkv_proj whose output splits as [q: H·hs | k: KV·hs | v: KV·hs]
      const fused = new Float32Array(qkv.length);
      fused.set(qkv.subarray(0, H * hs * C), 0);
      fused.set(qkv.subarray(H * hs * C, (H + KV) * hs * C), H * hs * C);
      fused.set(qkv.subarray((H + KV) * hs * C), (H + KV) * hs * C);
      out.push([p + 'self_attn.qkv_proj.weight', [(H + 2 * KV) * hs, C], fused]);
    } else {
      out.push([p + 'self_attn.q_proj.weight', [H * hs, C], qkv.subarray(0, H * hs * C)]);
      out.push([p + 'self_attn.k_proj.weight', [KV * hs, C], qkv.subarray(H * hs * C, (H + KV) * hs * C)]);
      out.push([p + 'self_attn.v_proj.weight', [KV * hs, C], qkv.subarray((H + KV) * hs * C)]);
    }
    if (c.qkvBias) {
      const b = layer('qkvb', l);
      out.push([p + 'self_attn.q_proj.bias', [H * hs], b.subarray(0, H * hs)]);
      out.push([p + 'self_attn.k_proj.bias', [KV * hs], b.subarray(H * hs, (H + KV) * hs)]);
      out.push([p + 'self_attn.v_proj.bias', [KV * hs], b.subarray((H + KV) * hs)]);
    }
    out.push([p + 'self_attn.o_proj.weight', [C, H * hs], layer('attprojw', l)]);
    if (c.linearBias) out.push([p + 'self_attn.o_proj.bias', [C], layer('attprojb', l)]);
    if (c.qkNorm !== 'none') {
      out.push([p + 'self_attn.q_norm.weight', [c.qkNorm === 'head' ? hs : H * hs], layer('qnw', l)]);
      out.push([p + 'self_attn.k_norm.weight', [c.qkNorm === 'head' ? hs : KV * hs], layer('knw', l)]);
    }
    out.push([p + 'post_attention_layernorm.weight', [C], layer(post ? 'postattnw' : 'ln2w', l)]);
    if (pre && post) out.push([p + 'pre_feedforward_layernorm.weight', [C], layer('ln2w', l)]);
    if (post) out.push([p + 'post_feedforward_layernorm.weight', [C], layer('postffnw', l)]);
    const fc = layer('fcw', l);
    if (type === 'phi3') {
      // Phi3MLP: gate_up_proj's output is chunked in two, gate first
      out.push([p + 'mlp.gate_up_proj.weight', [2 * F, C], Float32Array.from(fc)]);
    } else {
      out.push([p + 'mlp.gate_proj.weight', [F, C], fc.subarray(0, F * C)]);
      out.push([p + 'mlp.up_proj.weight', [F, C], fc.subarray(F * C)]);
    }
    out.push([p + 'mlp.down_proj.weight', [C, F], layer('fcprojw', l)]);
    if (c.linearBias) {
      const b = layer('fcb', l);
      out.push([p + 'mlp.gate_proj.bias', [F], b.subarray(0, F)]);
      out.push([p + 'mlp.up_proj.bias', [F], b.subarray(F)]);
      out.push([p + 'mlp.down_proj.bias', [C], layer('fcprojb', l)]);
    }
  }
  out.push(['model.norm.weight', [C], t.lnfw!]);
  if (!c.tiedEmbeddings) out.push(['lm_head.weight', [c.vocabSize, C], t.lmhead!]);
  return out;
}

/** config.json as transformers writes it for this model type. */
export function hfLlamaConfig(type: LlamaType, cfg: ReferenceConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const c = resolveReferenceConfig(cfg);
  const s = c.ropeScaling;
  const rope = !s ? null : s.type === 'linear' ? { type: 'linear', factor: s.factor } : s.type === 'llama3' ? {
    rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor,
    original_max_position_embeddings: s.originalMaxPositions,
  } : {
    // Phi-3 mini 128k's three fields; an attention factor other than transformers' default
    // (from max_position_embeddings / original_max_position_embeddings) spelled out
    type: 'longrope', short_factor: s.shortFactor, long_factor: s.longFactor,
    ...(s.attentionFactor !== Math.sqrt(1 + Math.log(c.maxSeqLen / s.originalMaxPositions) / Math.log(s.originalMaxPositions))
      ? { attention_factor: s.attentionFactor } : {}),
  };
  const arch = {
    llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', olmo2: 'Olmo2ForCausalLM',
    phi3: 'Phi3ForCausalLM', gemma2: 'Gemma2ForCausalLM', gemma3_text: 'Gemma3ForCausalLM',
  }[type];
  const window = c.slidingWindow > 0 ? c.slidingWindow : null;
  if (type === 'gemma2' || type === 'gemma3_text') return { ...gemmaConfig(type, c), ...extra };
  return {
    architectures: [arch], model_type: type, vocab_size: c.vocabSize, max_position_embeddings: c.maxSeqLen,
    num_hidden_layers: c.layers, num_attention_heads: c.heads, num_key_value_heads: c.kvHeads, hidden_size: c.dim,
    intermediate_size: c.ffnDim, hidden_act: 'silu', rms_norm_eps: c.normEps, rope_theta: c.ropeTheta, rope_scaling: rope,
    tie_word_embeddings: c.tiedEmbeddings, torch_dtype: 'bfloat16', bos_token_id: 1, eos_token_id: 2,
    ...(type === 'llama' ? { attention_bias: c.qkvBias, mlp_bias: c.linearBias, pretraining_tp: 1 } : {}),
    ...(type === 'mistral' ? { sliding_window: window } : {}),
    // Phi3Config: fused projections; mini-4k: sliding_window 2047 there, no rope scaling; mini-128k:
    // longrope from original_max_position_embeddings 4096 to max_position_embeddings 131072
    ...(type === 'phi3' ? {
      sliding_window: window, original_max_position_embeddings: s?.type === 'longrope' ? s.originalMaxPositions : c.maxSeqLen,
      embd_pdrop: 0, resid_pdrop: 0, attention_dropout: 0, pad_token_id: 0,
    } : {}),
    // Qwen2Config: the window (off, or on from max_window_layers on) written as the released
    // configs have it, without layer_types
    ...(type === 'qwen2' ? qwenWindow(c) : {}),
    // Qwen3Config: head_dim on its own, attention_bias, sliding-window fields (off)
    ...(type === 'qwen3' ? {
      head_dim: c.hs, attention_bias: false, attention_dropout: 0, ...qwenWindow(c),
      ...(c.slidingWindow > 0 ? {} : { layer_types: Array(c.layers).fill('full_attention') }),
    } : {}),
    // Olmo2Config: no head_dim field, attention_bias, pad token
    ...(type === 'olmo2' ? { attention_bias: false, attention_dropout: 0, pad_token_id: 1 } : {}),
    ...extra,
  };
}

function qwenWindow(c: ReturnType<typeof resolveReferenceConfig>): Record<string, unknown> {
  if (c.slidingWindow === 0) return { use_sliding_window: false, sliding_window: 4096, max_window_layers: c.layers };
  const from = c.layerTypes ? c.layerTypes.indexOf('local') : 0;
  return { use_sliding_window: true, sliding_window: c.slidingWindow, max_window_layers: from };
}

// Gemma2Config / Gemma3TextConfig as the released models' config.json files have them: no
// layer_types (transformers derives the kinds: Gemma 2 alternates from a local layer 0, Gemma 3
// makes every sliding_window_pattern-th layer global), the embedding normalizer's dtype from
// torch_dtype (bfloat16), hidden_activation (Gemma 2 also hidden_act).
function gemmaConfig(type: 'gemma2' | 'gemma3_text', c: ReturnType<typeof resolveReferenceConfig>): Record<string, unknown> {
  const gemma3 = type === 'gemma3_text';
  const s = c.ropeScaling;
  return {
    architectures: [gemma3 ? 'Gemma3ForCausalLM' : 'Gemma2ForCausalLM'], model_type: type, vocab_size: c.vocabSize,
    max_position_embeddings: c.maxSeqLen, num_hidden_layers: c.layers, num_attention_heads: c.heads, num_key_value_heads: c.kvHeads,
    hidden_size: c.dim, head_dim: c.hs, intermediate_size: c.ffnDim, hidden_activation: 'gelu_pytorch_tanh',
    ...(gemma3 ? {} : { hidden_act: 'gelu_pytorch_tanh' }), rms_norm_eps: c.normEps, rope_theta: c.ropeTheta,
    rope_scaling: s && s.type === 'linear' ? { rope_type: 'linear', factor: s.factor } : null,
    query_pre_attn_scalar: c.queryScale, attn_logit_softcapping: c.attnSoftcap || null, final_logit_softcapping: c.finalSoftcap || null,
    sliding_window: c.slidingWindow, attention_bias: false, attention_dropout: 0, tie_word_embeddings: c.tiedEmbeddings,
    torch_dtype: 'bfloat16', bos_token_id: 2, eos_token_id: 1, pad_token_id: 0, cache_implementation: 'hybrid',
    ...(gemma3 ? {
      rope_local_base_freq: c.ropeLocalTheta, sliding_window_pattern: (c.layerTypes ?? []).indexOf('global') + 1,
    } : {}),
  };
}

export interface FolderOptions {
  dtype?: Dtype;
  /** Split the tensors over this many shards with model.safetensors.index.json (default 1: model.safetensors). */
  shards?: number;
  /** Fields added to (or replacing) config.json's. */
  config?: Record<string, unknown>;
}

/** Writes config.json and the weights of a Llama-family folder; returns the shard file names. */
export async function writeHfLlamaFolder(dir: string, type: LlamaType, cfg: ReferenceConfig, params: Float32Array, o: FolderOptions = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(hfLlamaConfig(type, cfg, o.config)));
  const tensors = hfLlamaTensors(cfg, params, type);
  const n = o.shards ?? 1;
  const dtype = o.dtype ?? 'F32';
  if (n === 1) {
    await writeFile(path.join(dir, 'model.safetensors'), safetensorsBytes(tensors, dtype, { format: 'pt' }));
    return ['model.safetensors'];
  }
  const names: string[] = [];
  const weightMap: Record<string, string> = {};
  const per = Math.ceil(tensors.length / n);
  for (let i = 0; i < n; i++) {
    const name = `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
    const part = tensors.slice(i * per, (i + 1) * per);
    for (const [t] of part) weightMap[t] = name;
    await writeFile(path.join(dir, name), safetensorsBytes(part, dtype, { format: 'pt' }));
    names.push(name);
  }
  await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  return names;
}
