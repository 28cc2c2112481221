// Hugging Face tensor names <-> slices of the canonical flat layout (layout.ts), for the model
// types a folder may hold. Each HF tensor is one contiguous slice of the flat array, read or
// written as is (Llama family: HF Linear weights are [out, in], like the canonical layout) or
// transposed (GPT-2's Conv1D weights are [in, out]).
//
// Llama / Mistral / Qwen2 (names as LlamaForCausalLM / Qwen2ForCausalLM save them), per layer l:
//   model.layers.l.input_layernorm.weight           ln1w[l]
//   model.layers.l.self_attn.{q,k,v}_proj.weight    qkvw[l] rows [q: H·hs | k: KV·hs | v: KV·hs]
//   model.layers.l.self_attn.{q,k,v}_proj.bias      qkvb[l] likewise (qkvBias)
//   model.layers.l.self_attn.o_proj.weight / .bias  attprojw[l] / attprojb[l] (bias: linearBias)
//   model.layers.l.post_attention_layernorm.weight  ln2w[l]
//   model.layers.l.mlp.{gate,up}_proj.weight / .bias  fcw[l] rows [gate: F | up: F] / fcb[l]
//   model.layers.l.mlp.down_proj.weight / .bias     fcprojw[l] / fcprojb[l]
// and model.embed_tokens.weight -> wte, model.norm.weight -> lnfw, lm_head.weight -> lmhead
// (untied only; a tied model's file may still hold a copy, which is ignored). The later
// families' switches add, per layer:
//   qkNorm:  model.layers.l.self_attn.{q,k}_norm.weight   qnw[l], knw[l] ([hs] per head, Qwen3;
//            [H·hs], [KV·hs] over the projection, OLMo 2)
//   normPlacement 'post' (OLMo 2): no input_layernorm; post_attention_layernorm -> postattnw[l]
//            (after attention, not before the MLP) and post_feedforward_layernorm -> postffnw[l]
//   normPlacement 'both' (Gemma 2, Gemma 3 text): pre_feedforward_layernorm -> ln2w[l], and the
//            two post norms (Gemma3ForCausalLM saves its layers under model., as Llama)
// and o_proj is [C, H·hs] (headDim may differ from C/H). Phi-3 fuses q/k/v and gate/up in the
// engine's own row order, so its tensors are the canonical slices whole:
//   model.layers.l.self_attn.qkv_proj.weight        qkvw[l] [(H + 2·KV)·hs, C]
//   model.layers.l.mlp.gate_up_proj.weight          fcw[l]  [2F, C]
import { parameterLayout, resolveConfig, type GPTConfig } from './layout.js';
import { hfTensors as gpt2Tensors, canonicalOffset as gpt2Offset } from './hf_gpt2.js';

export interface HfTensorSpec {
  name: string; // as written in the file
  shape: number[]; // HF shape
  offset: number; // where the slice starts in the flat canonical array
  transpose: boolean; // HF [in, out] <-> canonical [out, in] (shape is [in, out])
}

export type HfModelType = 'gpt2' | 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'olmo2' | 'phi3' | 'gemma2' | 'gemma3_text';

/** The tensors of a model of this type and config, in canonical order. */
export function hfTensorSpecs(type: HfModelType, cfg: GPTConfig, o: { gpt2Prefix?: string } = {}): HfTensorSpec[] {
  if (type === 'gpt2') {
    const prefix = o.gpt2Prefix ?? '';
    return gpt2Tensors(cfg).map((t) => ({ name: prefix + t.name, shape: t.shape, offset: gpt2Offset(cfg, t), transpose: t.transpose }));
  }
  const r = resolveConfig(cfg);
  const { layers: L, dim: C, ffnDim: F, heads: H, kvHeads: KV } = r;
  const hs = r.headDim;
  const pre = r.normPlacement !== 'post', post = r.normPlacement !== 'pre';
  const qn = r.qkNorm === 'head' ? hs : H * hs, kn = r.qkNorm === 'head' ? hs : KV * hs;
  const at = new Map(parameterLayout(cfg).map((t) => [t.name, t]));
  // layer l's slice of a per-layer tensor, plus `skip` floats into it
  const slice = (canonical: string, l: number, skip = 0) => {
    const t = at.get(canonical)!;
    return t.offset + l * (t.size / L) + skip;
  };
  const out: HfTensorSpec[] = [];
  const add = (name: string, shape: number[], offset: number) => out.push({ name, shape, offset, transpose: false });
  add('model.embed_tokens.weight', [r.vocabSize, C], at.get('wte')!.offset);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    if (pre) add(p + 'input_layernorm.weight', [C], slice('ln1w', l));
    if (type === 'phi3') {
      add(p + 'self_attn.qkv_proj.weight', [(H + 2 * KV) * hs, C], slice('qkvw', l));
    } else {
      add(p + 'self_attn.q_proj.weight', [H * hs, C], slice('qkvw', l));
      add(p + 'self_attn.k_proj.weight', [KV * hs, C], slice('qkvw', l, H * hs * C));
      add(p + 'self_attn.v_proj.weight', [KV * hs, C], slice('qkvw', l, (H + KV) * hs * C));
    }
    if (r.qkvBias) {
      add(p + 'self_attn.q_proj.bias', [H * hs], slice('qkvb', l));
      add(p + 'self_attn.k_proj.bias', [KV * hs], slice('qkvb', l, H * hs));
      add(p + 'self_attn.v_proj.bias', [KV * hs], slice('qkvb', l, (H + KV) * hs));
    }
    add(p + 'self_attn.o_proj.weight', [C, H * hs], slice('attprojw', l));
    if (r.linearBias) add(p + 'self_attn.o_proj.bias', [C], slice('attprojb', l));
    if (r.qkNorm !== 'none') {
      add(p + 'self_attn.q_norm.weight', [qn], slice('qnw', l));
      add(p + 'self_attn.k_norm.weight', [kn], slice('knw', l));
    }
    // Llama calls its pre-MLP norm post_attention_layernorm; with post norms that name is the
    // norm after attention, and the pre-MLP norm is pre_feedforward_layernorm
    if (post) add(p + 'post_attention_layernorm.weight', [C], slice('postattnw', l));
    if (pre) add(p + (post ? 'pre_feedforward_layernorm.weight' : 'post_attention_layernorm.weight'), [C], slice('ln2w', l));
    if (type === 'phi3') {
      add(p + 'mlp.gate_up_proj.weight', [2 * F, C], slice('fcw', l));
    } else {
      add(p + 'mlp.gate_proj.weight', [F, C], slice('fcw', l));
      add(p + 'mlp.up_proj.weight', [F, C], slice('fcw', l, F * C));
    }
    add(p + 'mlp.down_proj.weight', [C, F], slice('fcprojw', l));
    if (r.linearBias) {
      add(p + 'mlp.gate_proj.bias', [F], slice('fcb', l));
      add(p + 'mlp.up_proj.bias', [F], slice('fcb', l, F));
      add(p + 'mlp.down_proj.bias', [C], slice('fcprojb', l));
    }
    if (post) add(p + 'post_feedforward_layernorm.weight', [C], slice('postffnw', l));
  }
  add('model.norm.weight', [C], at.get('lnfw')!.offset);
  if (!r.tiedEmbeddings) add('lm_head.weight', [r.vocabSize, C], at.get('lmhead')!.offset);
  return out;
}

/**
 * Names a file may hold that are not parameters, or duplicates of one: GPT-2's attention-mask
 * buffers and tied lm_head; old Llama checkpoints' rotary inv_freq buffers; a tied Llama's lm_head.
 */
export function isIgnoredHfName(type: HfModelType, name: string, cfg: GPTConfig): boolean {
  if (type === 'gpt2') return name === 'lm_head.weight' || /\.attn\.(bias|masked_bias)$/.test(name);
  if (/\.rotary_emb\.inv_freq$/.test(name)) return true;
  return name === 'lm_head.weight' && resolveConfig(cfg).tiedEmbeddings;
}
