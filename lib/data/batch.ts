// SFT samples -> training batches for GPT.forward.
//
// A sample is the token sequence   prompt · separator · response · eos
// (byte tokenizer: separator = <|sep|>, eos = <|eos|>; GPT-2 BPE: separator = "\n" (198),
// eos = <|endoftext|> (50256); prompt and response are encoded separately, so BPE never merges
// across the boundary). Inputs are the sequence minus its last token, targets the sequence
// shifted by one. Only targets that are response tokens or the eos carry loss weight:
//   'batch'  mode: 1 / (R · batch) each, R = response tokens + 1 (eos), so a batch's weights sum
//                  to 1 and the loss is the mean of per-sample means (docs/method.md);
//   'sample' mode: 1 / R each (every sample sums to 1), for per-sample activation patterns.
// Rows are padded to the longest sample in the batch (pad token, target -1, weight 0).
// A sample longer than maxSeqLen loses prompt tokens from the left (the response and the
// tokens right before it matter most); if separator + response alone do not fit, that is an error.
import type { Tokenizer } from '../tokenizer.js';
import type { Sample } from './sample.js';

export type Weighting = 'batch' | 'sample';

export interface Batch {
  batch: number;
  seqLen: number;
  tokens: Int32Array; // [batch, seqLen]
  targets: Int32Array; // [batch, seqLen], next token, -1 where none
  lossWeights: Float32Array; // [batch, seqLen]
  responseTokens: Int32Array; // [batch], R: weighted targets per sample (response + eos)
  truncated: number; // samples whose prompt was cut from the left
}

export interface BatchOptions {
  maxSeqLen: number;
  weighting?: Weighting; // default 'batch'
}

/** The tokens to feed a model that should answer `prompt`: prompt · separator. */
export function promptTokens(tok: Tokenizer, prompt: string): Int32Array {
  return concat(tok.encode(prompt), tok.separator);
}

export function makeBatch(samples: readonly Sample[], tok: Tokenizer, o: BatchOptions): Batch {
  const { maxSeqLen } = o;
  const weighting = o.weighting ?? 'batch';
  if (!Number.isInteger(maxSeqLen) || maxSeqLen < 1) throw new RangeError(`maxSeqLen: expected a positive integer, got ${maxSeqLen}`);
  if (weighting !== 'batch' && weighting !== 'sample') throw new RangeError(`weighting: expected 'batch' or 'sample', got ${weighting}`);
  if (samples.length === 0) throw new RangeError('samples: expected at least one sample, got none');

  const rows = samples.map((s, i) => encodeSample(s, i, tok, maxSeqLen));
  const batch = rows.length;
  const seqLen = Math.max(...rows.map((r) => r.seq.length - 1));
  const tokens = new Int32Array(batch * seqLen).fill(tok.pad);
  const targets = new Int32Array(batch * seqLen).fill(-1);
  const lossWeights = new Float32Array(batch * seqLen);
  const responseTokens = new Int32Array(batch);
  rows.forEach(({ seq, responseStart }, b) => {
    const n = seq.length - 1;
    const R = n + 1 - responseStart; // response tokens + eos
    const w = weighting === 'batch' ? 1 / (R * batch) : 1 / R;
    const row = b * seqLen;
    tokens.set(seq.subarray(0, n), row);
    targets.set(seq.subarray(1), row);
    // target t is seq[t + 1]: weighted from the first response token on
    lossWeights.fill(w, row + responseStart - 1, row + n);
    responseTokens[b] = R;
  });
  const truncated = rows.filter((r) => r.truncated).length;
  return { batch, seqLen, tokens, targets, lossWeights, responseTokens, truncated };
}

/** Consecutive batches of batchSize samples (the last may be smaller), in the given order. */
export function* batches(samples: readonly Sample[], batchSize: number, tok: Tokenizer, o: BatchOptions): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize: expected a positive integer, got ${batchSize}`);
  for (let i = 0; i < samples.length; i += batchSize) yield makeBatch(samples.slice(i, i + batchSize), tok, o);
}

// The full sequence (at most maxSeqLen + 1 tokens) and where its response starts.
function encodeSample(s: Sample, index: number, tok: Tokenizer, maxSeqLen: number) {
  if (typeof s?.prompt !== 'string' || typeof s?.response !== 'string') {
    throw new TypeError(`samples[${index}]: expected { prompt: string, response: string }`);
  }
  let prompt = tok.encode(s.prompt);
  const tail = concat(tok.separator, tok.encode(s.response), Int32Array.of(tok.eos));
  // inputs are one shorter than the sequence
  const excess = prompt.length + tail.length - 1 - maxSeqLen;
  if (excess > prompt.length) {
    throw new RangeError(`samples[${index}]: separator + response + eos need ${tail.length - 1} input tokens, more than maxSeqLen ${maxSeqLen}`);
  }
  if (excess > 0) prompt = prompt.subarray(excess);
  return { seq: concat(prompt, tail), responseStart: prompt.length + tok.separator.length, truncated: excess > 0 };
}

function concat(...parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
