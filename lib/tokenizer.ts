// Tokenizers. Tiny models read bytes; GPT-2 checkpoints read GPT-2's BPE (r50k_base).
//
// ByteTokenizer vocabulary (vocabSize 260):
//   0..255  the UTF-8 bytes of the text
//   256 <|bos|>  begins a pretraining document
//   257 <|eos|>  ends a response / a document
//   258 <|sep|>  separates prompt and response in SFT samples
//   259 <|pad|>  fills batches (never a target: its loss weight is 0)
// Text is always encoded as plain bytes: "<|eos|>" inside a string is seven bytes, not a special
// token, so user data cannot forge control tokens. decode() prints specials by their names.
//
// Gpt2Tokenizer: GPT-2 has one special token, <|endoftext|> = 50256, which serves as eos and pad;
// it has no separator token, so SFT uses the text "\n" (see data/batch.ts).
//
// HfTokenizer (hf_tokenizer.ts): a model folder's tokenizer.json, with its chat template.
import * as r50k from 'gpt-tokenizer/encoding/r50k_base';
import type { GPTConfig } from './checkpoint/layout.js';
import type { ChatTemplate } from './chat_template.js';
import { HeadgradRangeError } from './errors.js';

export interface Tokenizer {
  readonly name: 'byte' | 'gpt2' | 'hf';
  readonly vocabSize: number;
  readonly eos: number;
  readonly pad: number;
  /** Tokens between prompt and response in an SFT sample. */
  readonly separator: Int32Array;
  /** Special tokens by name, e.g. { '<|eos|>': 257 }. */
  readonly special: Readonly<Record<string, number>>;
  /** Tokens that begin every prompt/response sequence (e.g. Llama's BOS); none when absent. */
  readonly prefix?: Int32Array;
  /** The chat template that renders {"messages": [...]} samples; absent when the tokenizer has none. */
  readonly chatTemplate?: ChatTemplate;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
}

const BYTE_SPECIALS = { '<|bos|>': 256, '<|eos|>': 257, '<|sep|>': 258, '<|pad|>': 259 } as const;

export class ByteTokenizer implements Tokenizer {
  readonly name = 'byte';
  readonly vocabSize = 260;
  readonly bos = BYTE_SPECIALS['<|bos|>'];
  readonly eos = BYTE_SPECIALS['<|eos|>'];
  readonly sep = BYTE_SPECIALS['<|sep|>'];
  readonly pad = BYTE_SPECIALS['<|pad|>'];
  readonly separator = Int32Array.of(this.sep);
  readonly special: Readonly<Record<string, number>> = BYTE_SPECIALS;
  private readonly names = new Map(Object.entries(BYTE_SPECIALS).map(([k, v]) => [v as number, k]));

  encode(text: string): Int32Array {
    return Int32Array.from(new TextEncoder().encode(text));
  }

  // Runs of bytes are decoded together so multi-byte characters survive; a broken sequence
  // becomes U+FFFD rather than an exception (model output can be any bytes).
  decode(ids: ArrayLike<number>): string {
    const decoder = new TextDecoder('utf-8');
    let out = '';
    let run: number[] = [];
    const flush = () => {
      out += decoder.decode(Uint8Array.from(run));
      run = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (Number.isInteger(id) && id >= 0 && id < 256) {
        run.push(id);
        continue;
      }
      const name = this.names.get(id);
      if (name === undefined) throw new HeadgradRangeError(`ByteTokenizer.decode: ids[${i}] = ${id} is not a token id (0..${this.vocabSize - 1})`);
      flush();
      out += name;
    }
    flush();
    return out;
  }
}

export class Gpt2Tokenizer implements Tokenizer {
  readonly name = 'gpt2';
  readonly vocabSize = r50k.vocabularySize; // 50257
  readonly eos = 50256;
  readonly pad = 50256;
  readonly separator = this.encode('\n');
  readonly special: Readonly<Record<string, number>> = { '<|endoftext|>': 50256 };

  // disallowedSpecial empty: "<|endoftext|>" in data is text, like the byte tokenizer's rule
  encode(text: string): Int32Array {
    return Int32Array.from(r50k.encode(text, { disallowedSpecial: new Set() }));
  }

  decode(ids: ArrayLike<number>): string {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new HeadgradRangeError(`Gpt2Tokenizer.decode: ids[${i}] = ${id} is not a token id (0..${this.vocabSize - 1})`);
      }
    }
    return r50k.decode(Array.from(ids));
  }
}

/**
 * The tokenizer a model's vocabulary implies: GPT-2 BPE for exactly 50257 tokens, bytes for any
 * vocabulary from 260 up (rows past 259 are then unused), an error below 260.
 */
export function tokenizerFor(cfg: Pick<GPTConfig, 'vocabSize'> | number): Tokenizer {
  const v = typeof cfg === 'number' ? cfg : cfg?.vocabSize;
  if (!Number.isInteger(v) || v! <= 0) throw new HeadgradRangeError(`tokenizerFor: expected a vocabulary size (positive integer), got ${v}`);
  if (v === 50257) return new Gpt2Tokenizer();
  if (v! >= 260) return new ByteTokenizer();
  throw new HeadgradRangeError(`tokenizerFor: vocabulary size ${v} is too small for the byte tokenizer (needs 260) and is not GPT-2's 50257`);
}
