// The canonical GPT parameter layout shared by the native engine and the checkpoint readers.
// All parameters live in one flat Float32Array in llm.c's ParameterTensors order; weights are
// [out, in] row-major. The LM head is tied to wte, and V is the real vocabulary (no padding).

export interface GPTConfig {
  vocabSize: number; // V
  maxSeqLen: number; // P
  layers: number; // L
  heads: number;
  dim: number; // C (head size hs = C / heads)
}

export interface ParameterTensor {
  name: string;
  shape: number[];
  offset: number; // in floats, into the flat parameter array
  size: number; // product of shape
}

/** Throws a RangeError naming the field unless cfg is a usable GPT configuration. */
export function validateConfig(cfg: GPTConfig, where = 'config'): void {
  if (cfg === null || typeof cfg !== 'object') throw new TypeError(`${where}: expected an object, got ${cfg}`);
  for (const key of ['vocabSize', 'maxSeqLen', 'layers', 'heads', 'dim'] as const) {
    const v = cfg[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new RangeError(`${where}.${key}: expected a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  if (cfg.dim % cfg.heads !== 0) {
    throw new RangeError(`${where}: dim (${cfg.dim}) must be divisible by heads (${cfg.heads})`);
  }
}

/** The 16 tensors in canonical order with their offsets into the flat array. */
export function parameterLayout(cfg: GPTConfig): ParameterTensor[] {
  validateConfig(cfg);
  const { vocabSize: V, maxSeqLen: P, layers: L, dim: C } = cfg;
  const shapes: [string, number[]][] = [
    ['wte', [V, C]],
    ['wpe', [P, C]],
    ['ln1w', [L, C]],
    ['ln1b', [L, C]],
    ['qkvw', [L, 3 * C, C]],
    ['qkvb', [L, 3 * C]],
    ['attprojw', [L, C, C]],
    ['attprojb', [L, C]],
    ['ln2w', [L, C]],
    ['ln2b', [L, C]],
    ['fcw', [L, 4 * C, C]],
    ['fcb', [L, 4 * C]],
    ['fcprojw', [L, C, 4 * C]],
    ['fcprojb', [L, C]],
    ['lnfw', [C]],
    ['lnfb', [C]],
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

/** Only the five config fields, so extra keys (seed, device) never reach a checkpoint. */
export function pickConfig(cfg: GPTConfig): GPTConfig {
  const { vocabSize, maxSeqLen, layers, heads, dim } = cfg;
  return { vocabSize, maxSeqLen, layers, heads, dim };
}
