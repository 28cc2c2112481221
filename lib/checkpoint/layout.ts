// The canonical parameter layout shared by the native engine and the checkpoint readers.
// All parameters live in one flat Float32Array in llm.c's ParameterTensors order; weights are
// [out, in] row-major, V is the real vocabulary (no padding).
//
// One engine covers GPT-2 and the Llama family through a few switches (GPTConfig below). Every
// new field is optional and its default gives exactly GPT-2, so a GPT-2 config, its layout and
// its checkpoints are what they always were. Native mirror: native/core/gpt_params.h.
import { HeadgradRangeError, HeadgradTypeError } from '../errors.js';

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  /**
   * Phi-3 128k / Phi-3.5: frequency i is divided by longFactor[i] in a pass over more than
   * originalMaxPositions positions (the batch's padded length; in generation, the sequence so
   * far), else by shortFactor[i]; [headDim/2] each. cos and sin are multiplied by
   * attentionFactor (Hugging Face's default: √(1 + ln s / ln originalMaxPositions), s =
   * max_position_embeddings / originalMaxPositions).
   */
  | { type: 'longrope'; shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number };

export interface GPTConfig {
  vocabSize: number; // V
  maxSeqLen: number; // P
  layers: number; // L
  heads: number; // query heads H (head size hs = headDim, default dim / heads)
  dim: number; // C
  /** Key/value heads (grouped-query attention); must divide heads. Default heads. */
  kvHeads?: number;
  /** MLP hidden size; default 4*dim. */
  ffnDim?: number;
  /** 'layernorm' (weight and bias) or 'rmsnorm' (weight only). Default 'layernorm'. */
  norm?: 'layernorm' | 'rmsnorm';
  /** Epsilon of every norm; default 1e-5. */
  normEps?: number;
  /** 'learned' (wpe) or 'rope' (rotary, Hugging Face rotate_half convention, no wpe). Default 'learned'. */
  positions?: 'learned' | 'rope';
  /** RoPE base; default 10000. */
  ropeTheta?: number;
  /** RoPE frequency scaling; default null (none). */
  ropeScaling?: RopeScaling | null;
  /** 'gelu' (fc 4x, tanh GELU), 'swiglu' (down(silu(gate(x)) * up(x))) or 'geglu' (down(gelu_tanh(gate(x)) * up(x)): Gemma). Default 'gelu'. */
  mlp?: 'gelu' | 'swiglu' | 'geglu';
  /** Biases on the q/k/v projections; default true (GPT-2). Llama false, Qwen2 true. */
  qkvBias?: boolean;
  /** Biases on the attention output projection and the MLP linears; default true. */
  linearBias?: boolean;
  /** LM head tied to wte (default true); false adds an `lmhead` [vocabSize, dim] tensor. */
  tiedEmbeddings?: boolean;
  /** Head size, independent of dim/heads (Qwen3, Gemma); default dim / heads. */
  headDim?: number;
  /**
   * RMSNorm of q and k after their projection, before RoPE: 'head' (each head, weights [headDim]
   * shared by the heads: Qwen3) or 'projection' (the whole q and k projections: OLMo 2). Default 'none'.
   */
  qkNorm?: 'none' | 'head' | 'projection';
  /** Where each sublayer's norm sits: 'pre' (before it; default), 'post' (after it, before the residual add: OLMo 2) or 'both'. */
  normPlacement?: 'pre' | 'post' | 'both';
  /** Causal sliding-window attention: position t attends to t − slidingWindow + 1 .. t (Mistral v0.1, Phi-3). Default 0: all earlier positions. */
  slidingWindow?: number;
  /**
   * Per-layer attention kind (Gemma 2 and 3), one entry per layer: 'local' layers use slidingWindow
   * (and ropeLocalTheta), 'global' ones attend to all earlier positions (ropeTheta, ropeScaling).
   * Default: every layer as slidingWindow says.
   */
  layerTypes?: ('local' | 'global')[] | null;
  /** RoPE base of the local layers, without ropeScaling (Gemma 3: 10000). Default 0: the global layers' tables. */
  ropeLocalTheta?: number;
  /** Every RMSNorm (q/k and final norms too) computes x̂·(normWeightOffset + w) (Gemma: 1). Default 0. */
  normWeightOffset?: number;
  /** The embeddings are multiplied by it (Gemma: √dim, rounded to the checkpoint's dtype). Default 1. */
  embedScale?: number;
  /** Attention logits s -> cap·tanh(s/cap) before the softmax (Gemma 2: 50). Default 0: none. */
  attnSoftcap?: number;
  /** Output logits z -> cap·tanh(z/cap) (Gemma 2: 30). Default 0: none. */
  finalSoftcap?: number;
  /** Attention scale queryScale^-1/2 instead of headDim^-1/2 (Gemma's query_pre_attn_scalar). Default 0: headDim. */
  queryScale?: number;
}

/** A config with every optional field filled in with its value (defaults where absent). */
export type ResolvedConfig = Required<Omit<GPTConfig, 'ropeScaling' | 'layerTypes'>> & {
  ropeScaling: RopeScaling | null;
  layerTypes: ('local' | 'global')[] | null;
};

export interface ParameterTensor {
  name: string;
  shape: number[];
  offset: number; // in floats, into the flat parameter array
  size: number; // product of shape; 0 for a tensor this config does not have
}

const SIZE_FIELDS = ['vocabSize', 'maxSeqLen', 'layers', 'heads', 'dim'] as const;
const OPTIONAL_FIELDS = [
  'kvHeads', 'ffnDim', 'norm', 'normEps', 'positions', 'ropeTheta', 'ropeScaling', 'mlp', 'qkvBias', 'linearBias',
  'tiedEmbeddings', 'headDim', 'qkNorm', 'normPlacement', 'slidingWindow', 'layerTypes', 'ropeLocalTheta',
  'normWeightOffset', 'embedScale', 'attnSoftcap', 'finalSoftcap', 'queryScale',
] as const;

/** The defaults of the optional fields (GPT-2) for a config with these sizes. */
export function resolveConfig(cfg: GPTConfig): ResolvedConfig {
  return {
    vocabSize: cfg.vocabSize,
    maxSeqLen: cfg.maxSeqLen,
    layers: cfg.layers,
    heads: cfg.heads,
    dim: cfg.dim,
    kvHeads: cfg.kvHeads ?? cfg.heads,
    ffnDim: cfg.ffnDim ?? 4 * cfg.dim,
    norm: cfg.norm ?? 'layernorm',
    normEps: cfg.normEps ?? 1e-5,
    positions: cfg.positions ?? 'learned',
    ropeTheta: cfg.ropeTheta ?? 10000,
    ropeScaling: cfg.ropeScaling ?? null,
    mlp: cfg.mlp ?? 'gelu',
    qkvBias: cfg.qkvBias ?? true,
    linearBias: cfg.linearBias ?? true,
    tiedEmbeddings: cfg.tiedEmbeddings ?? true,
    headDim: cfg.headDim ?? cfg.dim / cfg.heads,
    qkNorm: cfg.qkNorm ?? 'none',
    normPlacement: cfg.normPlacement ?? 'pre',
    slidingWindow: cfg.slidingWindow ?? 0,
    layerTypes: cfg.layerTypes ?? null,
    ropeLocalTheta: cfg.ropeLocalTheta ?? 0,
    normWeightOffset: cfg.normWeightOffset ?? 0,
    embedScale: cfg.embedScale ?? 1,
    attnSoftcap: cfg.attnSoftcap ?? 0,
    finalSoftcap: cfg.finalSoftcap ?? 0,
    queryScale: cfg.queryScale ?? 0,
  };
}

/** True when every optional field is absent or at its GPT-2 default. */
export function isGpt2Config(cfg: GPTConfig): boolean {
  return Object.keys(pickConfig(cfg)).length === SIZE_FIELDS.length;
}

/** Throws a RangeError/TypeError naming the field unless cfg is a usable model configuration. */
export function validateConfig(cfg: GPTConfig, where = 'config'): void {
  if (cfg === null || typeof cfg !== 'object') throw new HeadgradTypeError(`${where}: expected an object, got ${cfg}`);
  for (const key of SIZE_FIELDS) checkPositiveInt(cfg[key], `${where}.${key}`);
  if (cfg.headDim !== undefined) {
    checkPositiveInt(cfg.headDim, `${where}.headDim`);
    if (cfg.headDim > 256) throw new HeadgradRangeError(`${where}.headDim: the head size must be at most 256, got ${cfg.headDim}`);
  } else if (cfg.dim % cfg.heads !== 0) {
    throw new HeadgradRangeError(`${where}: dim (${cfg.dim}) must be divisible by heads (${cfg.heads})`);
  }
  if (cfg.kvHeads !== undefined) {
    checkPositiveInt(cfg.kvHeads, `${where}.kvHeads`);
    if (cfg.heads % cfg.kvHeads !== 0) {
      throw new HeadgradRangeError(`${where}.kvHeads: must divide heads (${cfg.heads}), got ${cfg.kvHeads}`);
    }
  }
  if (cfg.ffnDim !== undefined) checkPositiveInt(cfg.ffnDim, `${where}.ffnDim`);
  checkChoice(cfg.norm, `${where}.norm`, ['layernorm', 'rmsnorm']);
  if (cfg.normEps !== undefined) checkPositive(cfg.normEps, `${where}.normEps`, 1);
  checkChoice(cfg.positions, `${where}.positions`, ['learned', 'rope']);
  if (cfg.ropeTheta !== undefined) checkPositive(cfg.ropeTheta, `${where}.ropeTheta`, 1e12);
  checkChoice(cfg.mlp, `${where}.mlp`, ['gelu', 'swiglu', 'geglu']);
  checkChoice(cfg.qkNorm, `${where}.qkNorm`, ['none', 'head', 'projection']);
  if (cfg.slidingWindow !== undefined && cfg.slidingWindow !== 0) checkPositiveInt(cfg.slidingWindow, `${where}.slidingWindow`);
  checkChoice(cfg.normPlacement, `${where}.normPlacement`, ['pre', 'post', 'both']);
  validateGemmaSwitches(cfg, where);
  for (const key of ['qkvBias', 'linearBias', 'tiedEmbeddings'] as const) {
    if (cfg[key] !== undefined && typeof cfg[key] !== 'boolean') {
      throw new HeadgradTypeError(`${where}.${key}: expected a boolean, got ${JSON.stringify(cfg[key])}`);
    }
  }
  const r = resolveConfig(cfg);
  if (r.positions === 'rope' && r.headDim % 2 !== 0) {
    throw new HeadgradRangeError(`${where}.positions: 'rope' needs an even head size, got ${cfg.headDim !== undefined ? 'headDim' : 'dim/heads'} = ${r.headDim}`);
  }
  if (r.qkNorm !== 'none' && r.norm !== 'rmsnorm') throw new HeadgradRangeError(`${where}.qkNorm: needs norm 'rmsnorm', got '${r.norm}'`);
  if (r.normPlacement !== 'pre' && r.norm !== 'rmsnorm') {
    throw new HeadgradRangeError(`${where}.normPlacement: '${r.normPlacement}' needs norm 'rmsnorm', got '${r.norm}'`);
  }
  if (r.norm === 'layernorm' && r.normEps !== 1e-5) {
    throw new HeadgradRangeError(`${where}.normEps: 'layernorm' supports only 1e-5 (GPT-2's epsilon), got ${r.normEps}`);
  }
  validateRopeScaling(cfg.ropeScaling, r.headDim, `${where}.ropeScaling`);
  if (r.ropeScaling && r.positions !== 'rope') {
    throw new HeadgradRangeError(`${where}.ropeScaling: needs positions 'rope', got positions '${r.positions}'`);
  }
}

// The switches Gemma 2 and 3 add; each is off at its default.
function validateGemmaSwitches(cfg: GPTConfig, where: string): void {
  for (const key of ['ropeLocalTheta', 'attnSoftcap', 'finalSoftcap', 'queryScale'] as const) {
    if (cfg[key] !== undefined && cfg[key] !== 0) checkPositive(cfg[key], `${where}.${key}`, 1e12);
  }
  if (cfg.embedScale !== undefined) checkPositive(cfg.embedScale, `${where}.embedScale`, 1e6);
  if (cfg.normWeightOffset !== undefined && (typeof cfg.normWeightOffset !== 'number' || !Number.isFinite(cfg.normWeightOffset))) {
    throw new HeadgradTypeError(`${where}.normWeightOffset: expected a finite number, got ${JSON.stringify(cfg.normWeightOffset)}`);
  }
  if ((cfg.normWeightOffset ?? 0) !== 0 && cfg.norm !== 'rmsnorm') {
    throw new HeadgradRangeError(`${where}.normWeightOffset: needs norm 'rmsnorm', got '${cfg.norm ?? 'layernorm'}'`);
  }
  if ((cfg.ropeLocalTheta ?? 0) !== 0 && cfg.positions !== 'rope') {
    throw new HeadgradRangeError(`${where}.ropeLocalTheta: needs positions 'rope', got '${cfg.positions ?? 'learned'}'`);
  }
  const types = cfg.layerTypes;
  if (types === undefined || types === null) return;
  if (!Array.isArray(types)) throw new HeadgradTypeError(`${where}.layerTypes: expected an array of 'local' | 'global', got ${JSON.stringify(types)}`);
  if (types.length !== cfg.layers) {
    throw new HeadgradRangeError(`${where}.layerTypes: expected one entry per layer (${cfg.layers}), got ${types.length}`);
  }
  types.forEach((t, i) => {
    if (t !== 'local' && t !== 'global') throw new HeadgradRangeError(`${where}.layerTypes[${i}]: expected 'local' or 'global', got ${JSON.stringify(t)}`);
    if (t === 'local' && !cfg.slidingWindow) throw new HeadgradRangeError(`${where}.layerTypes[${i}]: 'local' needs slidingWindow > 0`);
  });
}

function validateRopeScaling(s: unknown, headDim: number, where: string): void {
  if (s === undefined || s === null) return;
  if (typeof s !== 'object' || Array.isArray(s)) throw new HeadgradTypeError(`${where}: expected null or an object, got ${JSON.stringify(s)}`);
  const o = s as Record<string, unknown>;
  if (o.type !== 'linear' && o.type !== 'llama3' && o.type !== 'longrope') {
    throw new HeadgradRangeError(`${where}.type: expected 'linear', 'llama3' or 'longrope', got ${JSON.stringify(o.type)}`);
  }
  if (o.type === 'longrope') {
    for (const key of ['shortFactor', 'longFactor']) {
      const list = o[key];
      if (!Array.isArray(list) || list.length !== headDim / 2) {
        throw new HeadgradRangeError(`${where}.${key}: expected an array of ${headDim / 2} numbers (headDim / 2), got ${Array.isArray(list) ? `${list.length} numbers` : JSON.stringify(list)}`);
      }
      list.forEach((v, i) => checkPositive(v, `${where}.${key}[${i}]`, 1e6));
    }
    checkPositiveInt(o.originalMaxPositions, `${where}.originalMaxPositions`);
    checkPositive(o.attentionFactor, `${where}.attentionFactor`, 1e6);
    return;
  }
  checkPositive(o.factor, `${where}.factor`, 1e6);
  if (o.type === 'llama3') {
    checkPositive(o.lowFreqFactor, `${where}.lowFreqFactor`, 1e6);
    checkPositive(o.highFreqFactor, `${where}.highFreqFactor`, 1e6);
    checkPositiveInt(o.originalMaxPositions, `${where}.originalMaxPositions`);
    if ((o.highFreqFactor as number) <= (o.lowFreqFactor as number)) {
      throw new HeadgradRangeError(`${where}: highFreqFactor (${o.highFreqFactor}) must be greater than lowFreqFactor (${o.lowFreqFactor})`);
    }
  }
}

function checkPositiveInt(v: unknown, name: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new HeadgradRangeError(`${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  }
}

function checkPositive(v: unknown, name: string, max: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) {
    throw new HeadgradRangeError(`${name}: expected a finite number in (0, ${max}], got ${JSON.stringify(v)}`);
  }
}

function checkChoice(v: unknown, name: string, choices: string[]): void {
  if (v !== undefined && !choices.includes(v as string)) {
    throw new HeadgradRangeError(`${name}: expected ${choices.map((c) => `'${c}'`).join(' or ')}, got ${JSON.stringify(v)}`);
  }
}

/**
 * The 21 tensors in canonical order with their offsets into the flat array. A tensor that the
 * config does not have keeps its place with size 0 (rope: wpe; rmsnorm: ln1b, ln2b, lnfb; no
 * qkvBias: qkvb; no linearBias: attprojb, fcb, fcprojb; tied: lmhead; normPlacement 'post':
 * ln1w, ln2w; no qkNorm: qnw, knw; normPlacement 'pre': postattnw, postffnw). The tensors of
 * the later switches come after lmhead, so the layouts of older configs are unchanged.
 *   qkvw [L, (H + 2·KV)·hs, C]: rows [all q heads; all k heads; all v heads]; qkvb likewise.
 *   attprojw [L, C, H·hs]; qnw, knw [L, hs] ('head') or [L, H·hs], [L, KV·hs] ('projection').
 *   gelu:   fcw [L, F, C], fcb [L, F], fcprojw [L, C, F]  (F = ffnDim)
 *   swiglu, geglu: fcw [L, 2F, C] = [gate rows; up rows], fcb [L, 2F], fcprojw [L, C, F]
 */
export function parameterLayout(cfg: GPTConfig): ParameterTensor[] {
  validateConfig(cfg);
  const r = resolveConfig(cfg);
  const { vocabSize: V, maxSeqLen: P, layers: L, dim: C, ffnDim: F } = r;
  const hs = r.headDim;
  const QKV = (r.heads + 2 * r.kvHeads) * hs;
  const QD = r.heads * hs;
  const FC = r.mlp === 'gelu' ? F : 2 * F;
  const pre = r.normPlacement !== 'post', post = r.normPlacement !== 'pre';
  const ln = r.norm === 'layernorm' && pre;
  const head = r.qkNorm === 'head';
  const lb = r.linearBias;
  const shapes: [string, number[]][] = [
    ['wte', [V, C]],
    ['wpe', r.positions === 'learned' ? [P, C] : [0]],
    ['ln1w', pre ? [L, C] : [0]],
    ['ln1b', ln ? [L, C] : [0]],
    ['qkvw', [L, QKV, C]],
    ['qkvb', r.qkvBias ? [L, QKV] : [0]],
    ['attprojw', [L, C, QD]],
    ['attprojb', lb ? [L, C] : [0]],
    ['ln2w', pre ? [L, C] : [0]],
    ['ln2b', ln ? [L, C] : [0]],
    ['fcw', [L, FC, C]],
    ['fcb', lb ? [L, FC] : [0]],
    ['fcprojw', [L, C, F]],
    ['fcprojb', lb ? [L, C] : [0]],
    ['lnfw', [C]],
    ['lnfb', r.norm === 'layernorm' ? [C] : [0]],
    ['lmhead', r.tiedEmbeddings ? [0] : [V, C]],
    ['qnw', r.qkNorm === 'none' ? [0] : [L, head ? hs : QD]],
    ['knw', r.qkNorm === 'none' ? [0] : [L, head ? hs : r.kvHeads * hs]],
    ['postattnw', post ? [L, C] : [0]],
    ['postffnw', post ? [L, C] : [0]],
  ];
  let offset = 0;
  return shapes.map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const t = { name, shape, offset, size };
    offset += size;
    return t;
  });
}

export function parameterCount(cfg: GPTConfig): number {
  const last = parameterLayout(cfg).at(-1)!;
  return last.offset + last.size;
}

/**
 * The model fields only, so extra keys (seed, device) never reach a checkpoint. Optional fields
 * are kept only where they differ from their GPT-2 default, so a GPT-2 config stays the five
 * size fields (and its checkpoints byte-identical).
 */
export function pickConfig(cfg: GPTConfig): GPTConfig {
  const { vocabSize, maxSeqLen, layers, heads, dim } = cfg;
  const out: GPTConfig = { vocabSize, maxSeqLen, layers, heads, dim };
  const dflt = resolveConfig(out) as unknown as Record<string, unknown>;
  for (const key of OPTIONAL_FIELDS) {
    const v = cfg[key];
    if (v === undefined || JSON.stringify(v) === JSON.stringify(dflt[key])) continue;
    (out as unknown as Record<string, unknown>)[key] =
      key === 'ropeScaling' ? structuredClone(v) : key === 'layerTypes' ? [...(v as string[])] : v;
  }
  return out;
}
