// A float64 re-implementation of the whole model, written from the formulas (docs/method.md and
// the Hugging Face GPT-2 / Llama / Qwen2 modelling semantics), sharing no code with the engine:
// it reads parameters in the canonical flat layout and recomputes logits, the loss and, by
// central differences in float64, the gradient of the loss with respect to every head gate.
//
// Covers GPT-2 (LayerNorm, learned positions, GELU-tanh MLP, biases, tied LM head) and the
// Llama-family switches: RMSNorm, rotary positions (rotate_half convention, scaling none /
// linear / llama3 / longrope), SwiGLU, grouped-query attention, QKV biases without linear biases, an
// untied LM head; and the later families' switches: a head size independent of dim/heads
// (Qwen3), Q/K RMSNorm per head (Qwen3) or over the whole projection (OLMo 2), norms after
// the sublayers (OLMo 2) or before and after (Gemma), causal sliding-window attention (Mistral
// v0.1, Phi-3); and Gemma 2 / 3's: GeGLU, the (offset + w) RMSNorm weight, an embedding scale,
// attention-logit and final-logit soft-capping, a query scale, and per-layer local (windowed,
// own RoPE base) / global attention. Slow (plain loops) and meant for tiny models only.

/** The model configuration: the five GPT-2 fields plus the optional Llama-family switches. */
export interface ReferenceConfig {
  vocabSize: number; // V
  maxSeqLen: number; // P
  layers: number; // L
  heads: number; // H (query heads)
  dim: number; // C
  kvHeads?: number; // default H; must divide H
  ffnDim?: number; // default 4C
  norm?: 'layernorm' | 'rmsnorm';
  normEps?: number; // default 1e-5
  positions?: 'learned' | 'rope';
  ropeTheta?: number; // default 10000
  ropeScaling?: null | { type: 'linear'; factor: number }
    | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
    | { type: 'longrope'; shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number };
  mlp?: 'gelu' | 'swiglu' | 'geglu'; // geglu: gelu_tanh(gate) * up
  qkvBias?: boolean; // default true
  linearBias?: boolean; // default true (attprojb, fcb, fcprojb)
  tiedEmbeddings?: boolean; // default true
  headDim?: number; // head size hs; default C / H
  qkNorm?: 'none' | 'head' | 'projection'; // RMSNorm of q and k before RoPE; default none
  normPlacement?: 'pre' | 'post' | 'both'; // the sublayer norms: before, after (before the residual add), both
  slidingWindow?: number; // > 0: query t sees keys t − slidingWindow + 1 .. t only; default 0 (all earlier keys)
  layerTypes?: ('local' | 'global')[] | null; // per layer: local = slidingWindow (+ ropeLocalTheta), global = neither
  ropeLocalTheta?: number; // > 0: the local layers' RoPE base, unscaled; default 0 (the global frequencies)
  normWeightOffset?: number; // every RMSNorm multiplies by (offset + w); default 0
  embedScale?: number; // embeddings times it; default 1
  attnSoftcap?: number; // > 0: attention scores s -> cap·tanh(s/cap); default 0
  finalSoftcap?: number; // > 0: logits z -> cap·tanh(z/cap); default 0
  queryScale?: number; // > 0: scores scaled by queryScale^-1/2 instead of hs^-1/2; default 0
}

type Resolved = Required<Omit<ReferenceConfig, 'ropeScaling' | 'layerTypes'>> & {
  ropeScaling: ReferenceConfig['ropeScaling']; layerTypes: ('local' | 'global')[] | null; hs: number;
};

export function resolveReferenceConfig(c: ReferenceConfig): Resolved {
  const r: Resolved = {
    vocabSize: c.vocabSize, maxSeqLen: c.maxSeqLen, layers: c.layers, heads: c.heads, dim: c.dim,
    kvHeads: c.kvHeads ?? c.heads, ffnDim: c.ffnDim ?? 4 * c.dim, norm: c.norm ?? 'layernorm', normEps: c.normEps ?? 1e-5,
    positions: c.positions ?? 'learned', ropeTheta: c.ropeTheta ?? 10000, ropeScaling: c.ropeScaling ?? null,
    mlp: c.mlp ?? 'gelu', qkvBias: c.qkvBias ?? true, linearBias: c.linearBias ?? true, tiedEmbeddings: c.tiedEmbeddings ?? true,
    headDim: c.headDim ?? c.dim / c.heads, qkNorm: c.qkNorm ?? 'none', normPlacement: c.normPlacement ?? 'pre',
    slidingWindow: c.slidingWindow ?? 0,
    layerTypes: c.layerTypes ?? null, ropeLocalTheta: c.ropeLocalTheta ?? 0, normWeightOffset: c.normWeightOffset ?? 0,
    embedScale: c.embedScale ?? 1, attnSoftcap: c.attnSoftcap ?? 0, finalSoftcap: c.finalSoftcap ?? 0, queryScale: c.queryScale ?? 0,
    hs: c.headDim ?? c.dim / c.heads,
  };
  if (!Number.isInteger(r.hs)) throw new RangeError(`reference: dim ${c.dim} is not divisible by heads ${c.heads}`);
  if (r.heads % r.kvHeads !== 0) throw new RangeError(`reference: kvHeads ${r.kvHeads} does not divide heads ${r.heads}`);
  if (r.positions === 'rope' && r.hs % 2 !== 0) throw new RangeError(`reference: rope needs an even head size, got ${r.hs}`);
  return r;
}

export interface ReferenceTensor { name: string; shape: number[]; offset: number; size: number }

/**
 * The canonical flat layout: 21 tensors in this order, weights [out, in]; a tensor the config
 * does not have has size 0. qkvw rows are [all q heads; all k heads; all v heads]; for SwiGLU
 * fcw rows are [gate; up]; attprojw is [C, H·hs]. ln1w/ln2w (+b) are the pre norms, postattnw
 * and postffnw the post norms; qnw, knw [hs] per head or [H·hs], [KV·hs] per projection.
 */
export function referenceLayout(config: ReferenceConfig): ReferenceTensor[] {
  const c = resolveReferenceConfig(config);
  const { vocabSize: V, maxSeqLen: P, layers: L, dim: C, hs, ffnDim: F } = c;
  const QKV = (c.heads + 2 * c.kvHeads) * hs;
  const FC = c.mlp === 'gelu' ? F : 2 * F;
  const pre = c.normPlacement !== 'post', post = c.normPlacement !== 'pre';
  const ln = c.norm === 'layernorm';
  const lb = c.linearBias;
  const qn = c.qkNorm === 'head' ? hs : c.heads * hs, kn = c.qkNorm === 'head' ? hs : c.kvHeads * hs;
  const shapes: [string, number[]][] = [
    ['wte', [V, C]],
    ['wpe', c.positions === 'learned' ? [P, C] : [0]],
    ['ln1w', pre ? [L, C] : [0]],
    ['ln1b', ln && pre ? [L, C] : [0]],
    ['qkvw', [L, QKV, C]],
    ['qkvb', c.qkvBias ? [L, QKV] : [0]],
    ['attprojw', [L, C, c.heads * hs]],
    ['attprojb', lb ? [L, C] : [0]],
    ['ln2w', pre ? [L, C] : [0]],
    ['ln2b', ln && pre ? [L, C] : [0]],
    ['fcw', [L, FC, C]],
    ['fcb', lb ? [L, FC] : [0]],
    ['fcprojw', [L, C, F]],
    ['fcprojb', lb ? [L, C] : [0]],
    ['lnfw', [C]],
    ['lnfb', ln ? [C] : [0]],
    ['lmhead', c.tiedEmbeddings ? [0] : [V, C]],
    ['qnw', c.qkNorm === 'none' ? [0] : [L, qn]],
    ['knw', c.qkNorm === 'none' ? [0] : [L, kn]],
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

export function referenceParameterCount(config: ReferenceConfig): number {
  const last = referenceLayout(config).at(-1)!;
  return last.offset + last.size;
}

/**
 * Random parameters (norm weights around an effective 1, everything else around 0) far from a
 * trained model's, so every path matters. With normWeightOffset the stored norm weight is w in
 * x̂·(offset + w), so it is drawn around 1 − offset (Gemma's w around 0).
 */
export function randomReferenceParameters(config: ReferenceConfig, rng: { normal(): number }, std = 0.3): Float32Array {
  const p = new Float32Array(referenceParameterCount(config));
  const one = 1 - (config.normWeightOffset ?? 0);
  for (const t of referenceLayout(config)) {
    const around = ['ln1w', 'ln2w', 'lnfw', 'qnw', 'knw', 'postattnw', 'postffnw'].includes(t.name) ? one : 0;
    for (let i = 0; i < t.size; i++) p[t.offset + i] = around + std * rng.normal();
  }
  return p;
}

/**
 * Rotary inverse frequencies [hs/2]: θ^(−2i/hs), then the scaling. linear divides every
 * frequency by factor; llama3 divides the low frequencies (wavelength above
 * originalMaxPositions/lowFreqFactor) by factor, keeps the high ones (wavelength below
 * originalMaxPositions/highFreqFactor) and blends in between, s = (orig/λ − low)/(high − low),
 * f' = (1 − s)·f/factor + s·f; longrope divides frequency i by longFactor[i] for a sequence
 * longer than originalMaxPositions (longContext), else by shortFactor[i].
 */
export function ropeInverseFrequencies(config: ReferenceConfig, longContext = false): Float64Array {
  const c = resolveReferenceConfig(config);
  const half = c.hs / 2;
  const f = new Float64Array(half);
  for (let i = 0; i < half; i++) f[i] = 1 / Math.pow(c.ropeTheta, (2 * i) / c.hs);
  const s = c.ropeScaling;
  if (!s) return f;
  if (s.type === 'linear') return f.map((x) => x / s.factor);
  if (s.type === 'longrope') return f.map((x, i) => x / (longContext ? s.longFactor : s.shortFactor)[i]!);
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  return f.map((x) => {
    const wavelen = (2 * Math.PI) / x;
    if (wavelen < highWavelen) return x;
    if (wavelen > lowWavelen) return x / s.factor;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (x / s.factor) + smooth * x;
  });
}

export interface ReferenceInputs {
  /** [B·T] next-token targets, −1 = none. Without: loss is NaN. */
  targets?: ArrayLike<number>;
  /** [B·T] loss = Σ w·CE over positions with a target. Without: the mean CE over those positions. */
  lossWeights?: ArrayLike<number>;
  /** [L·H] multiplies each head's attention output before the output projection (default all 1). */
  gates?: ArrayLike<number>;
}

export interface ReferenceOutput {
  logits: Float64Array; // [B, T, V]
  loss: number;
}

type Params = Float32Array | Float64Array;

// A view of one tensor of the flat parameters (empty for absent tensors).
function tensors(cfg: ReferenceConfig, p: Params): Record<string, Params> {
  const out: Record<string, Params> = {};
  const layout = referenceLayout(cfg);
  const n = layout.at(-1)!.offset + layout.at(-1)!.size;
  if (p.length !== n) throw new RangeError(`reference: expected ${n} parameters for this config, got ${p.length}`);
  for (const t of layout) out[t.name] = p.subarray(t.offset, t.offset + t.size);
  return out;
}

// y[o] = Σ_i W[o, i]·x[i] + b[o]; W [out, in] at wOff, b at bOff (or no bias).
function linear(x: Float64Array, W: Params, wOff: number, b: Params | null, bOff: number, nIn: number, nOut: number): Float64Array {
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let acc = b ? b[bOff + o] : 0;
    const row = wOff + o * nIn;
    for (let i = 0; i < nIn; i++) acc += W[row + i] * x[i];
    y[o] = acc;
  }
  return y;
}

function normalize(c: Resolved, x: Float64Array, w: Params, b: Params, off: number): Float64Array {
  if (c.norm === 'rmsnorm') return rmsNormalize(c, x, 0, x.length, w, off);
  const C = x.length;
  const y = new Float64Array(C);
  if (c.norm === 'layernorm') {
    let mean = 0;
    for (let i = 0; i < C; i++) mean += x[i];
    mean /= C;
    let v = 0;
    for (let i = 0; i < C; i++) v += (x[i] - mean) ** 2;
    const r = 1 / Math.sqrt(v / C + c.normEps);
    for (let i = 0; i < C; i++) y[i] = (x[i] - mean) * r * w[off + i] + b[off + i];
  } else {
    let ms = 0;
    for (let i = 0; i < C; i++) ms += x[i] * x[i];
    const r = 1 / Math.sqrt(ms / C + c.normEps);
    for (let i = 0; i < C; i++) y[i] = x[i] * r * w[off + i];
  }
  return y;
}

const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
const silu = (x: number) => x / (1 + Math.exp(-x));

// RMSNorm of v[from .. from+n) with weights w[off .. off+n).
function rmsNormalize(c: Resolved, v: Float64Array, from: number, n: number, w: Params, off: number): Float64Array {
  let ms = 0;
  for (let i = 0; i < n; i++) ms += v[from + i] * v[from + i];
  const r = 1 / Math.sqrt(ms / n + c.normEps);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = v[from + i] * r * (c.normWeightOffset + w[off + i]);
  return y;
}

// Q/K RMSNorm in place on one qkv row: the q block [H·hs] and the k block [KV·hs], per head
// (weights [hs] shared by the heads) or each block whole.
function qkNormalize(c: Resolved, v: Float64Array, w: Record<string, Params>, l: number): void {
  const { heads: H, kvHeads: KV, hs } = c;
  const perHead = c.qkNorm === 'head';
  const qn = perHead ? hs : H * hs, kn = perHead ? hs : KV * hs;
  for (let g = 0; g < (perHead ? H : 1); g++) v.set(rmsNormalize(c, v, g * qn, qn, w.qnw!, l * qn), g * qn);
  for (let g = 0; g < (perHead ? KV : 1); g++) v.set(rmsNormalize(c, v, H * hs + g * kn, kn, w.knw!, l * kn), H * hs + g * kn);
}

// Rotates one head vector v[off .. off+hs) at position t in place: pairs (i, i + hs/2),
// out_i = x_i cos − x_{i+hs/2} sin, out_{i+hs/2} = x_{i+hs/2} cos + x_i sin, cos and sin times
// `magnitude` (longrope's attention factor; 1 otherwise).
export function rotate(v: Float64Array, off: number, hs: number, t: number, invFreq: ArrayLike<number>, magnitude = 1): void {
  const half = hs / 2;
  for (let i = 0; i < half; i++) {
    const a = t * invFreq[i], cos = magnitude * Math.cos(a), sin = magnitude * Math.sin(a);
    const x1 = v[off + i], x2 = v[off + i + half];
    v[off + i] = x1 * cos - x2 * sin;
    v[off + i + half] = x2 * cos + x1 * sin;
  }
}

// The logits [T, V] of one sequence; gates [L·H] for this sequence.
function sequenceLogits(c: Resolved, w: Record<string, Params>, tokens: ArrayLike<number>, gates: ArrayLike<number>): Float64Array {
  const { vocabSize: V, layers: L, heads: H, kvHeads: KV, dim: C, hs, ffnDim: F } = c;
  const T = tokens.length;
  const QKV = (H + 2 * KV) * hs;
  const QD = H * hs;
  const pre = c.normPlacement !== 'post', post = c.normPlacement !== 'pre';
  // a sublayer's input: the pre norm of x, or x; its output: the post norm of f, or f
  const preNorm = (xt: Float64Array, wn: string, bn: string, l: number) => (pre ? normalize(c, xt, w[wn]!, w[bn]!, l * C) : xt);
  const postNorm = (ft: Float64Array, wn: string, l: number) => (post ? rmsNormalize(c, ft, 0, C, w[wn]!, l * C) : ft);
  const FC = c.mlp === 'gelu' ? F : 2 * F;
  const perKv = H / KV;
  // longrope: the long factors for a sequence longer than originalMaxPositions (Hugging Face:
  // max(position_ids) + 1, the padded length T here), cos and sin times the attention factor
  const longrope = c.ropeScaling?.type === 'longrope' ? c.ropeScaling : null;
  const invFreq = c.positions === 'rope' ? ropeInverseFrequencies(c, longrope !== null && T > longrope.originalMaxPositions) : new Float64Array(0);
  const magnitude = longrope ? longrope.attentionFactor : 1;
  // local layers: the sliding window, and their own base without scaling when ropeLocalTheta is set
  const isLocal = (l: number) => (c.layerTypes ? c.layerTypes[l] === 'local' : c.slidingWindow > 0);
  const localFreq = c.positions === 'rope' && c.ropeLocalTheta > 0
    ? ropeInverseFrequencies({ ...c, ropeTheta: c.ropeLocalTheta, ropeScaling: null }) : invFreq;
  const scoreScale = 1 / Math.sqrt(c.queryScale > 0 ? c.queryScale : hs);
  const cap = (v: number, k: number) => (k > 0 ? k * Math.tanh(v / k) : v);
  const bias = (name: string) => (w[name]!.length > 0 ? w[name]! : null);
  let x: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const e = new Float64Array(C);
    for (let i = 0; i < C; i++) e[i] = (w.wte![tokens[t] * C + i] + (c.positions === 'learned' ? w.wpe![t * C + i] : 0)) * c.embedScale;
    x.push(e);
  }
  for (let l = 0; l < L; l++) {
    // attention sublayer
    const qkv = x.map((xt) => linear(preNorm(xt, 'ln1w', 'ln1b', l), w.qkvw!, l * QKV * C, bias('qkvb'), l * QKV, C, QKV));
    if (c.qkNorm !== 'none') for (const v of qkv) qkNormalize(c, v, w, l);
    if (c.positions === 'rope') {
      const f = isLocal(l) ? localFreq : invFreq;
      const m = isLocal(l) && c.ropeLocalTheta > 0 ? 1 : magnitude;
      for (let t = 0; t < T; t++) for (let h = 0; h < H + KV; h++) rotate(qkv[t]!, h * hs, hs, t, f, m); // q and k heads
    }
    const y = x.map(() => new Float64Array(QD));
    for (let h = 0; h < H; h++) {
      const g = h / perKv | 0; // the K/V head this query head reads
      const qOff = h * hs, kOff = (H + g) * hs, vOff = (H + KV + g) * hs;
      for (let t = 0; t < T; t++) {
        const s = new Float64Array(t + 1);
        let mx = -Infinity;
        // keys before j0 are outside the sliding window: their weight is exactly 0
        const j0 = isLocal(l) ? Math.max(0, t - c.slidingWindow + 1) : 0;
        for (let j = j0; j <= t; j++) {
          let acc = 0;
          for (let d = 0; d < hs; d++) acc += qkv[t]![qOff + d] * qkv[j]![kOff + d];
          s[j] = cap(acc * scoreScale, c.attnSoftcap);
          mx = Math.max(mx, s[j]);
        }
        let z = 0;
        for (let j = j0; j <= t; j++) z += (s[j] = Math.exp(s[j] - mx));
        for (let j = j0; j <= t; j++) {
          const p = (s[j] / z) * gates[l * H + h];
          for (let d = 0; d < hs; d++) y[t]![h * hs + d] += p * qkv[j]![vOff + d];
        }
      }
    }
    x = x.map((xt, t) => {
      const a = postNorm(linear(y[t]!, w.attprojw!, l * C * QD, bias('attprojb'), l * C, QD, C), 'postattnw', l);
      return xt.map((v, i) => v + a[i]);
    });
    // MLP sublayer
    x = x.map((xt) => {
      const u = linear(preNorm(xt, 'ln2w', 'ln2b', l), w.fcw!, l * FC * C, bias('fcb'), l * FC, C, FC);
      const m = new Float64Array(F);
      for (let i = 0; i < F; i++) m[i] = c.mlp === 'swiglu' ? silu(u[i]) * u[F + i] : c.mlp === 'geglu' ? geluTanh(u[i]) * u[F + i] : geluTanh(u[i]);
      const o = postNorm(linear(m, w.fcprojw!, l * C * F, bias('fcprojb'), l * C, F, C), 'postffnw', l);
      return xt.map((v, i) => v + o[i]);
    });
  }
  const head = c.tiedEmbeddings ? w.wte! : w.lmhead!;
  const logits = new Float64Array(T * V);
  for (let t = 0; t < T; t++) logits.set(linear(normalize(c, x[t]!, w.lnfw!, w.lnfb!, 0), head, 0, null, 0, C, V), t * V);
  return c.finalSoftcap > 0 ? logits.map((z) => cap(z, c.finalSoftcap)) : logits;
}

// The per-position loss weights the engine uses: the given ones, or 1/(positions with a
// target); 0 where the target is −1.
function lossWeightsOf(targets: ArrayLike<number>, lossWeights: ArrayLike<number> | undefined): Float64Array {
  const w = new Float64Array(targets.length);
  let counted = 0;
  for (let i = 0; i < targets.length; i++) counted += targets[i] >= 0 ? 1 : 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] >= 0) w[i] = lossWeights ? lossWeights[i] : 1 / counted;
  return w;
}

// Σ_t w_t·(logsumexp(logits_t) − logits_t[target_t]) over the positions with w_t ≠ 0.
function weightedCrossEntropy(logits: Float64Array, V: number, targets: ArrayLike<number>, w: ArrayLike<number>): number {
  let loss = 0;
  for (let t = 0; t < targets.length; t++) {
    if (targets[t] < 0 || w[t] === 0) continue;
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, logits[t * V + v]);
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[t * V + v] - mx);
    loss += w[t] * (mx + Math.log(z) - logits[t * V + targets[t]]);
  }
  return loss;
}

function checkInputs(c: Resolved, tokens: ArrayLike<number>, B: number, T: number, o: ReferenceInputs): ArrayLike<number> {
  if (tokens.length !== B * T) throw new RangeError(`reference: expected ${B * T} tokens, got ${tokens.length}`);
  if (T > c.maxSeqLen) throw new RangeError(`reference: T ${T} exceeds maxSeqLen ${c.maxSeqLen}`);
  const gates = o.gates ?? new Float64Array(c.layers * c.heads).fill(1);
  if (gates.length !== c.layers * c.heads) throw new RangeError(`reference: expected ${c.layers * c.heads} gates, got ${gates.length}`);
  return gates;
}

/** Logits [B, T, V] and the loss (NaN without targets), in float64. */
export function referenceForward(config: ReferenceConfig, params: Params, tokens: ArrayLike<number>, B: number, T: number,
  o: ReferenceInputs = {}): ReferenceOutput {
  const c = resolveReferenceConfig(config);
  const gates = checkInputs(c, tokens, B, T, o);
  const w = tensors(config, params);
  const V = c.vocabSize;
  const logits = new Float64Array(B * T * V);
  for (let b = 0; b < B; b++) logits.set(sequenceLogits(c, w, Array.from(tokens).slice(b * T, (b + 1) * T), gates), b * T * V);
  if (!o.targets) return { logits, loss: NaN };
  return { logits, loss: weightedCrossEntropy(logits, V, o.targets, lossWeightsOf(o.targets, o.lossWeights)) };
}

/**
 * ∂L/∂ξ [L, B, H]: the derivative of the loss with respect to a gate on head h of layer l in
 * sample b alone (what the engine's headScores are). Sample b's share of the loss is
 * Σ_t w_{b,t}·CE_{b,t} with the batch's weights, so each entry is a derivative of one
 * sequence's weighted loss, taken by the five-point central difference
 * (−f(2ε) + 8f(ε) − 8f(−ε) + f(−2ε))/(12ε) in float64: truncation ε⁴/30·|f⁽⁵⁾|, rounding
 * ~1.5·δ/ε for a loss rounded by δ (~1e-16..1e-15 here). ε = 1e-4: on parameters of std 0.3 the
 * gate derivatives can be steep (f⁽⁵⁾ ~2e6 was seen), which at the former ε = 1e-3 made an error of
 * 6.4e-8 (issue 25, seed 2038385979); at 1e-4 truncation is 1e4 times smaller and rounding ~1e-11.
 */
export function referenceGateGradients(config: ReferenceConfig, params: Params, tokens: ArrayLike<number>, B: number, T: number,
  o: ReferenceInputs & { targets: ArrayLike<number> }, eps = 1e-4): Float64Array {
  const c = resolveReferenceConfig(config);
  const gates = Array.from(checkInputs(c, tokens, B, T, o));
  const w = tensors(config, params);
  const weights = lossWeightsOf(o.targets, o.lossWeights);
  const { layers: L, heads: H, vocabSize: V } = c;
  const out = new Float64Array(L * B * H);
  for (let b = 0; b < B; b++) {
    const tb = Array.from(tokens).slice(b * T, (b + 1) * T);
    const yb = Array.from(o.targets).slice(b * T, (b + 1) * T);
    const wb = weights.subarray(b * T, (b + 1) * T);
    const lossAt = (lh: number, delta: number) => {
      const g = gates.slice();
      g[lh] += delta;
      return weightedCrossEntropy(sequenceLogits(c, w, tb, g), V, yb, wb);
    };
    for (let lh = 0; lh < L * H; lh++) {
      const d = (-lossAt(lh, 2 * eps) + 8 * lossAt(lh, eps) - 8 * lossAt(lh, -eps) + lossAt(lh, -2 * eps)) / (12 * eps);
      out[(Math.floor(lh / H) * B + b) * H + (lh % H)] = d;
    }
  }
  return out;
}
