// The tests' own checkpoint writers, written independently of lib/checkpoint, so a reader bug
// cannot hide behind a matching writer bug. Only the canonical layout (the shared contract)
// is taken from the library.
import { parameterLayout, type GPTConfig } from '../../lib/checkpoint/layout.js';

export type Dtype = 'F32' | 'F16' | 'BF16';
export type NamedTensor = [name: string, shape: number[], values: Float32Array];

function tensor(cfg: GPTConfig, params: Float32Array, name: string): Float32Array {
  const t = parameterLayout(cfg).find((p) => p.name === name)!;
  return params.subarray(t.offset, t.offset + t.size);
}

function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = src[i * cols + j]!;
  return out;
}

// Normal numbers only: enough for test values that are exact in f16.
function f32ToF16Bits(x: number): number {
  if (x === 0) return 0;
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  const e = Math.floor(Math.log2(a));
  const mant = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | mant;
}

function encode(values: Float32Array, dtype: Dtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.slice().buffer);
  const out = new Uint16Array(values.length);
  const bits = new Uint32Array(values.slice().buffer);
  for (let i = 0; i < values.length; i++) out[i] = dtype === 'BF16' ? bits[i]! >>> 16 : f32ToF16Bits(values[i]!);
  return new Uint8Array(out.buffer);
}

export function safetensorsBytes(tensors: NamedTensor[], dtype: Dtype, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const blobs: Uint8Array[] = [];
  let off = 0;
  for (const [name, shape, values] of tensors) {
    const b = encode(values, dtype);
    header[name] = { dtype, shape, data_offsets: [off, off + b.length] };
    blobs.push(b);
    off += b.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...blobs]);
}

// An HF GPT2LMHeadModel-style state dict: `transformer.` prefix, Conv1D weights [in, out],
// the attention mask buffers and the tied lm_head present.
export function hfStateDict(cfg: GPTConfig, params: Float32Array): NamedTensor[] {
  const { vocabSize: V, maxSeqLen: P, layers: L, dim: C } = cfg;
  const whole = (name: string) => tensor(cfg, params, name);
  const layer = (name: string, l: number) => {
    const t = whole(name);
    const n = t.length / L;
    return t.subarray(l * n, (l + 1) * n);
  };
  const out: NamedTensor[] = [
    ['transformer.wte.weight', [V, C], whole('wte')],
    ['transformer.wpe.weight', [P, C], whole('wpe')],
  ];
  for (let l = 0; l < L; l++) {
    const h = `transformer.h.${l}.`;
    out.push(
      [h + 'ln_1.weight', [C], layer('ln1w', l)],
      [h + 'ln_1.bias', [C], layer('ln1b', l)],
      [h + 'attn.bias', [1, 1, P, P], new Float32Array(P * P).fill(1)],
      [h + 'attn.masked_bias', [], new Float32Array([-1e4])],
      [h + 'attn.c_attn.weight', [C, 3 * C], transpose(layer('qkvw', l), 3 * C, C)],
      [h + 'attn.c_attn.bias', [3 * C], layer('qkvb', l)],
      [h + 'attn.c_proj.weight', [C, C], transpose(layer('attprojw', l), C, C)],
      [h + 'attn.c_proj.bias', [C], layer('attprojb', l)],
      [h + 'ln_2.weight', [C], layer('ln2w', l)],
      [h + 'ln_2.bias', [C], layer('ln2b', l)],
      [h + 'mlp.c_fc.weight', [C, 4 * C], transpose(layer('fcw', l), 4 * C, C)],
      [h + 'mlp.c_fc.bias', [4 * C], layer('fcb', l)],
      [h + 'mlp.c_proj.weight', [4 * C, C], transpose(layer('fcprojw', l), C, 4 * C)],
      [h + 'mlp.c_proj.bias', [C], layer('fcprojb', l)],
    );
  }
  out.push(
    ['transformer.ln_f.weight', [C], whole('lnfw')],
    ['transformer.ln_f.bias', [C], whole('lnfb')],
    ['lm_head.weight', [V, C], whole('wte')],
  );
  return out;
}

export function hfConfigJson(cfg: GPTConfig): string {
  return JSON.stringify({
    model_type: 'gpt2', vocab_size: cfg.vocabSize, n_positions: cfg.maxSeqLen, n_layer: cfg.layers, n_head: cfg.heads, n_embd: cfg.dim,
  });
}

// llm.c train_gpt2.c layout; the padded wte rows hold garbage that a reader must drop.
export function llmcBytes(cfg: GPTConfig, params: Float32Array, opts: { version?: number; paddedVocab?: number; magic?: number } = {}): Buffer {
  const Vp = opts.paddedVocab ?? Math.ceil(cfg.vocabSize / 16) * 16 + 16;
  const header = new Int32Array(256);
  header.set([opts.magic ?? 20240326, opts.version ?? 3, cfg.maxSeqLen, cfg.vocabSize, cfg.layers, cfg.heads, cfg.dim, Vp]);
  const wte = cfg.vocabSize * cfg.dim;
  const values = new Float32Array(params.length + (Vp - cfg.vocabSize) * cfg.dim).fill(99);
  values.set(params.subarray(0, wte), 0);
  values.set(params.subarray(wte), Vp * cfg.dim);
  return Buffer.concat([Buffer.from(header.buffer), encode(values, opts.version === 5 ? 'BF16' : 'F32')]);
}
