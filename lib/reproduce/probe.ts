// Per-sample head scores on a probe set, from which the reproduction takes its activation
// patterns: the paper's AP (mean over samples of |∂L(x_i)/∂ξ_h|, as lib/patterns/activation.ts),
// a per-sample-normalised AP (each sample's |scores| divided by their sum over heads first, so
// that samples with a large loss do not dominate and the AP's overall scale drops out), the
// held-out loss on the same samples, and bootstrap intervals of Gini and CV over the samples.
// Keeping the rows is what makes the bootstrap and the normalisation possible.
import type { GPT } from '../model.js';
import type { Tokenizer } from '../tokenizer.js';
import { makeBatch } from '../data/batch.js';
import type { Sample } from '../data/sample.js';
import { cv, gini } from '../patterns/metrics.js';
import { bootstrapCI } from './stats.js';
import { HeadgradRangeError } from '../errors.js';

export interface Probe {
  /** |∂L(x_i)/∂ξ_h| per sample, [samples][layers*heads], in the probe's order. */
  rows: Float64Array[];
  /** Mean per-sample loss (nats per response token, mean over samples). */
  loss: number;
}

/** Forward + backward on `samples` (batches of 16, no weight update); one row of |scores| per sample. */
export async function probe(model: GPT, samples: readonly Sample[], tokenizer: Tokenizer): Promise<Probe> {
  if (samples.length === 0) throw new HeadgradRangeError('probe: samples must not be empty');
  const { layers, heads } = model.config;
  const rows: Float64Array[] = [];
  let loss = 0;
  for (let i = 0; i < samples.length; i += 16) {
    const chunk = samples.slice(i, i + 16);
    // 'sample' weighting: each row's weights sum to 1, so the batch loss is Σ_i L(x_i) and row
    // i's head scores are ∂L(x_i)/∂ξ (rows do not interact)
    const b = makeBatch(chunk, tokenizer, { maxSeqLen: model.config.maxSeqLen, weighting: 'sample' });
    // scores only: no weight gradients, the LM head only where there is a target (same loss)
    const out = await model.forward(b.tokens, { batch: b.batch, seqLen: b.seqLen, targets: b.targets, lossWeights: b.lossWeights, scoresOnly: true });
    loss += out.loss;
    const { headScores } = await model.backward({ scoresOnly: true }); // [layers, batch, heads]
    for (let r = 0; r < b.batch; r++) {
      const row = new Float64Array(layers * heads);
      for (let l = 0; l < layers; l++) for (let h = 0; h < heads; h++) row[l * heads + h] = Math.abs(headScores[(l * b.batch + r) * heads + h]!);
      rows.push(row);
    }
  }
  return { rows, loss: loss / samples.length };
}

/** Mean of the rows: the paper's AP. */
export function meanAP(rows: readonly (readonly number[] | Float64Array)[]): number[] {
  const n = rows[0]!.length;
  const ap = new Array<number>(n).fill(0);
  for (const r of rows) for (let j = 0; j < n; j++) ap[j] += r[j]! / rows.length;
  return ap;
}

/** Mean of the rows after each is divided by its own sum (a row of zeros stays zero). */
export function normalisedAP(rows: readonly (readonly number[] | Float64Array)[]): number[] {
  return meanAP(rows.map((r) => {
    let s = 0;
    for (const v of r) s += v;
    return Array.from(r, (v) => (s > 0 ? v / s : 0));
  }));
}

export function apOf(p: Probe, norm: 'mean' | 'sample'): number[] {
  return norm === 'sample' ? normalisedAP(p.rows) : meanAP(p.rows);
}

/** 95% percentile-bootstrap intervals of the Gini and CV of the AP, resampling probe samples. */
export function spreadIntervals(p: Probe, norm: 'mean' | 'sample', draws: number, seed: number): { gini: [number, number]; cv: [number, number] } {
  const rows = norm === 'sample' ? p.rows.map((r) => {
    const s = r.reduce((a, b) => a + b, 0);
    return Array.from(r, (v) => (s > 0 ? v / s : 0));
  }) : p.rows.map((r) => Array.from(r));
  return {
    gini: bootstrapCI(rows, (x) => gini(meanAP(x)), draws, seed),
    cv: bootstrapCI(rows, (x) => cv(meanAP(x)), draws, seed),
  };
}
