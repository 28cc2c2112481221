// SFT samples -> training batches for GPT.forward.
//
// A prompt/response sample is the token sequence   prefix · prompt · separator · response · eos
// (byte tokenizer: no prefix, separator = <|sep|>, eos = <|eos|>; GPT-2 BPE: no prefix,
// separator = "\n" (198), eos = <|endoftext|> (50256); a Hugging Face tokenizer: prefix = what
// its post-processor puts first (Llama's BOS), separator = "\n", eos = its eos_token). Prompt and
// response are encoded separately, so BPE never merges across the boundary. A {"messages"}
// sample is the chat template's rendering, with the assistant turns as the response
// (data/chat.ts). A {"text"} document is   prefix · text · eos   with every token a target but
// the first (it has nothing before it): the layout of a pretraining document without the
// separator, so that the model meets the separator only where an answer starts, and position 0
// holds the first token of the text, as it holds the first token of the prompt in an SFT sample. Inputs are the sequence minus its last token, targets the sequence shifted by
// one. Only targets that are response (assistant) tokens or the eos carry loss weight:
//   'batch'  mode: 1 / (R · batch) each, R = weighted targets of the sample (response tokens + 1
//                  for the eos), so a batch's weights sum to 1 and the loss is the mean of
//                  per-sample means (docs/method.md);
//   'sample' mode: 1 / R each (every sample sums to 1), for per-sample activation patterns.
// Rows are padded to the longest sample in the batch (pad token, target -1, weight 0).
// A sample longer than maxSeqLen loses prompt tokens from the left, after the prefix (the
// response and the tokens right before it matter most); if separator + response alone do not
// fit (for a conversation: the tokens from its first assistant turn on), that is an error.
import type { Tokenizer } from '../tokenizer.js';
import { isChatSample, isTextSample, type TextSample, type TrainingSample } from './sample.js';
import { concat, encodeChat, type EncodedSample } from './chat.js';
import { HeadgradRangeError, HeadgradTypeError } from '../errors.js';

export type Weighting = 'batch' | 'sample';

export interface Batch {
  batch: number;
  seqLen: number;
  tokens: Int32Array; // [batch, seqLen]
  targets: Int32Array; // [batch, seqLen], next token, -1 where none
  lossWeights: Float32Array; // [batch, seqLen]
  responseTokens: Int32Array; // [batch], R: weighted targets per sample (response + eos, or the assistant turns)
  weightSums: Float64Array; // [batch], each row's loss weights summed (its share of the batch loss; 1 in 'sample' mode up to f32 rounding)
  truncated: number; // samples whose prompt was cut from the left
}

export interface BatchOptions {
  maxSeqLen: number;
  weighting?: Weighting; // default 'batch'
}

/** The tokens to feed a model that should answer `prompt`: prefix · prompt · separator. */
export function promptTokens(tok: Tokenizer, prompt: string): Int32Array {
  return concat(tok.prefix ?? new Int32Array(0), tok.encode(prompt), tok.separator);
}

export function makeBatch(samples: readonly TrainingSample[], tok: Tokenizer, o: BatchOptions): Batch {
  const { maxSeqLen } = o;
  const weighting = o.weighting ?? 'batch';
  if (!Number.isInteger(maxSeqLen) || maxSeqLen < 1) throw new HeadgradRangeError(`maxSeqLen: expected a positive integer, got ${maxSeqLen}`);
  if (weighting !== 'batch' && weighting !== 'sample') throw new HeadgradRangeError(`weighting: expected 'batch' or 'sample', got ${weighting}`);
  if (samples.length === 0) throw new HeadgradRangeError('samples: expected at least one sample, got none');

  const rows = samples.map((s, i) => fitSample(s, i, tok, maxSeqLen));
  const batch = rows.length;
  const seqLen = Math.max(...rows.map((r) => r.seq.length - 1));
  const tokens = new Int32Array(batch * seqLen).fill(tok.pad);
  const targets = new Int32Array(batch * seqLen).fill(-1);
  const lossWeights = new Float32Array(batch * seqLen);
  const responseTokens = new Int32Array(batch);
  const weightSums = new Float64Array(batch);
  rows.forEach(({ seq, weighted }, b) => {
    const n = seq.length - 1;
    let R = 0; // weighted targets: response tokens + eos
    for (let t = 1; t <= n; t++) R += weighted[t]!;
    const w = weighting === 'batch' ? 1 / (R * batch) : 1 / R;
    const row = b * seqLen;
    tokens.set(seq.subarray(0, n), row);
    targets.set(seq.subarray(1), row);
    // target t is seq[t + 1]
    for (let t = 0; t < n; t++) if (weighted[t + 1]) lossWeights[row + t] = w;
    responseTokens[b] = R;
    weightSums[b] = R * Math.fround(w); // exact in float64: R equal f32 weights
  });
  const truncated = rows.filter((r) => r.truncated).length;
  return { batch, seqLen, tokens, targets, lossWeights, responseTokens, weightSums, truncated };
}

/** Consecutive batches of batchSize samples (the last may be smaller), in the given order. */
export function* batches(samples: readonly TrainingSample[], batchSize: number, tok: Tokenizer, o: BatchOptions): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new HeadgradRangeError(`batchSize: expected a positive integer, got ${batchSize}`);
  for (let i = 0; i < samples.length; i += batchSize) yield makeBatch(samples.slice(i, i + batchSize), tok, o);
}

/** The whole token sequence of a sample and which tokens carry loss, before any cut. */
export function encodeSample(s: TrainingSample, index: number, tok: Tokenizer): EncodedSample {
  if (isChatSample(s)) return encodeChat(tok, s, `samples[${index}]`);
  if (isTextSample(s)) return encodeText(tok, s, index);
  if (typeof s?.prompt !== 'string' || typeof s?.response !== 'string') {
    throw new HeadgradTypeError(`samples[${index}]: expected { prompt: string, response: string } or { messages: [...] }`);
  }
  const prefix = tok.prefix ?? new Int32Array(0);
  const prompt = tok.encode(s.prompt);
  const tail = concat(tok.separator, tok.encode(s.response), Int32Array.of(tok.eos));
  const seq = concat(prefix, prompt, tail);
  const weighted = new Uint8Array(seq.length);
  weighted.fill(1, prefix.length + prompt.length + tok.separator.length);
  return { seq, weighted, keep: prefix.length, cutLimit: prefix.length + prompt.length, what: 'separator + response + eos' };
}

function encodeText(tok: Tokenizer, s: TextSample, index: number): EncodedSample {
  if (typeof s.text !== 'string') throw new HeadgradTypeError(`samples[${index}].text: expected a string, got ${typeof s.text}`);
  if (s.text === '') throw new HeadgradRangeError(`samples[${index}].text: expected a non-empty document, got ''`);
  const seq = concat(tok.prefix ?? new Int32Array(0), tok.encode(s.text), Int32Array.of(tok.eos));
  // seq[0] is never a target (targets are the sequence shifted by one), so all ones is
  // "every token after the first"; nothing may be cut, since every token is trained on.
  return { seq, weighted: new Uint8Array(seq.length).fill(1), keep: 0, cutLimit: 0, what: 'text + eos' };
}

// The sequence cut to at most maxSeqLen + 1 tokens (inputs are one shorter than the sequence).
function fitSample(s: TrainingSample, index: number, tok: Tokenizer, maxSeqLen: number) {
  const e = encodeSample(s, index, tok);
  const excess = e.seq.length - 1 - maxSeqLen;
  if (excess > e.cutLimit - e.keep) {
    throw new HeadgradRangeError(`samples[${index}]: ${e.what} need ${e.seq.length - 1 - (e.cutLimit - e.keep)} input tokens, more than maxSeqLen ${maxSeqLen}`);
  }
  if (excess <= 0) return { seq: e.seq, weighted: e.weighted, truncated: false };
  const cut = <T extends Int32Array | Uint8Array>(a: T): T => {
    const out = a.slice(0, a.length - excess) as T;
    out.set(a.subarray(e.keep + excess), e.keep);
    return out;
  };
  return { seq: cut(e.seq), weighted: cut(e.weighted), truncated: true };
}
