// Hugging Face GPT-2 tensor names <-> the canonical flat layout.
// HF stores the transformer's linear layers as Conv1D with weight [in, out]; the canonical
// layout is [out, in], so those weights are transposed on the way in and out. The LM head is
// tied to wte, and the causal-mask buffers (attn.bias, attn.masked_bias) are not parameters.
import { parameterLayout, type GPTConfig } from './layout.js';

export interface HfTensor {
  name: string; // HF name without the `transformer.` prefix
  shape: number[]; // HF shape
  canonical: string; // canonical tensor it belongs to
  layer: number | null; // slice of the canonical tensor, null for unstacked tensors
  transpose: boolean; // HF [in, out] <-> canonical [out, in]
}

/** HF names that are recognised and skipped (buffers and the tied head). */
export function isIgnoredHfTensor(name: string): boolean {
  return name === 'lm_head.weight' || /\.attn\.(bias|masked_bias)$/.test(name);
}

export function stripHfPrefix(name: string): string {
  return name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
}

export function hfTensors(cfg: GPTConfig): HfTensor[] {
  const { vocabSize: V, maxSeqLen: P, layers: L, dim: C } = cfg;
  const out: HfTensor[] = [
    { name: 'wte.weight', shape: [V, C], canonical: 'wte', layer: null, transpose: false },
    { name: 'wpe.weight', shape: [P, C], canonical: 'wpe', layer: null, transpose: false },
  ];
  for (let l = 0; l < L; l++) {
    const at = (name: string, shape: number[], canonical: string, transpose = false) =>
      out.push({ name: `h.${l}.${name}`, shape, canonical, layer: l, transpose });
    at('ln_1.weight', [C], 'ln1w');
    at('ln_1.bias', [C], 'ln1b');
    at('attn.c_attn.weight', [C, 3 * C], 'qkvw', true);
    at('attn.c_attn.bias', [3 * C], 'qkvb');
    at('attn.c_proj.weight', [C, C], 'attprojw', true);
    at('attn.c_proj.bias', [C], 'attprojb');
    at('ln_2.weight', [C], 'ln2w');
    at('ln_2.bias', [C], 'ln2b');
    at('mlp.c_fc.weight', [C, 4 * C], 'fcw', true);
    at('mlp.c_fc.bias', [4 * C], 'fcb');
    at('mlp.c_proj.weight', [4 * C, C], 'fcprojw', true);
    at('mlp.c_proj.bias', [C], 'fcprojb');
  }
  out.push({ name: 'ln_f.weight', shape: [C], canonical: 'lnfw', layer: null, transpose: false });
  out.push({ name: 'ln_f.bias', shape: [C], canonical: 'lnfb', layer: null, transpose: false });
  return out;
}

/** Where an HF tensor's values start in the flat canonical array. */
export function canonicalOffset(cfg: GPTConfig, t: HfTensor): number {
  const c = parameterLayout(cfg).find((p) => p.name === t.canonical)!;
  const size = t.shape.reduce((a, b) => a * b, 1);
  return c.offset + (t.layer ?? 0) * size;
}

/** src is [rows, cols] row-major; returns [cols, rows]. */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c]!;
  }
  return dst;
}

/** The canonical params as HF tensors (Conv1D weights transposed to [in, out]). */
export function toHfTensors(cfg: GPTConfig, params: Float32Array): { name: string; shape: number[]; data: Float32Array }[] {
  return hfTensors(cfg).map((t) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    const off = canonicalOffset(cfg, t);
    const slice = params.subarray(off, off + size);
    // canonical is [out, in] = [shape[1], shape[0]]
    const data = t.transpose ? transpose2d(slice, t.shape[1]!, t.shape[0]!) : slice;
    return { name: t.name, shape: t.shape, data };
  });
}

/** HF config.json fields -> GPTConfig (n_ctx is the older name of n_positions). */
export function configFromHfJson(json: Record<string, unknown>): GPTConfig {
  return {
    vocabSize: json.vocab_size as number,
    maxSeqLen: (json.n_positions ?? json.n_ctx) as number,
    layers: json.n_layer as number,
    heads: json.n_head as number,
    dim: json.n_embd as number,
  };
}
