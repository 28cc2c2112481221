// Fixtures shared by the SFT / activation / ablation tests: a tiny byte-level GPT and an easy
// task it can learn in about a hundred steps (each letter maps to its upper-case pair).
import { GPT } from '../../lib/model.js';
import { ByteTokenizer } from '../../lib/tokenizer.js';
import type { Sample } from '../../lib/data/sample.js';

export const tokenizer = new ByteTokenizer();

export function tinyModel(seed = 1, o: { layers?: number; heads?: number; dim?: number; maxSeqLen?: number } = {}): Promise<GPT> {
  return GPT.create({ vocabSize: tokenizer.vocabSize, maxSeqLen: o.maxSeqLen ?? 16, layers: o.layers ?? 2, heads: o.heads ?? 2, dim: o.dim ?? 32, seed, device: 'cpu' });
}

/** "ab" -> "BA": short enough for a tiny model, and not solvable without attending to the prompt. */
export function easyTask(letters = 'abcdef'): Sample[] {
  const out: Sample[] = [];
  for (const a of letters) for (const b of letters.slice(0, 3)) out.push({ prompt: a + b, response: (b + a).toUpperCase() });
  return out;
}

export const easyCheck = (prompt: string, output: string) => output === [...prompt].reverse().join('').toUpperCase();

/** Samples of varied lengths (so batches are padded) for pattern tests. */
export function variedSamples(n: number): Sample[] {
  const words = ['a', 'bc', 'def', 'ghij', 'kl', 'mnopq', 'r', 'stu'];
  return Array.from({ length: n }, (_, i) => ({ prompt: words[i % words.length]!, response: words[(i * 3 + 1) % words.length]!.toUpperCase() }));
}
