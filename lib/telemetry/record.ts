// AP telemetry: the activation pattern of each SFT training batch, from the head scores the
// training backward already returns (docs/telemetry.md). No extra pass and O(layers·batch·heads)
// arithmetic per recorded step.
//
// Why it is exact: the training loss is Σ_i c_i · L(x_i), where c_i is row i's share of the batch
// loss (its loss weights summed; 1/B for SFT batches, lib/data/batch.ts). Rows do not interact, so
// the backward's headScores[l, i, h] = c_i · ∂L(x_i)/∂ξ_{l,h}, and dividing by c_i gives each
// sample's score under its own per-sample loss: the score activationPattern measures
// (lib/patterns/activation.ts, docs/method.md), at the weights θ_t before step t's update.
import { cv, gini } from '../patterns/metrics.js';

export interface TelemetryOptions {
  /** Record the batches of steps 0, every, 2·every, … and of the last step (default 1: all). */
  every?: number;
  /** Also keep each sample's signed scores and its index in the training data (default false). */
  perSample?: boolean;
}

export interface TelemetryRecord {
  /**
   * Optimizer updates applied before this batch: its scores are taken at θ_step, the weights a
   * pattern snapshot at `step` measures. The batch is the one history.steps[step] reports
   * (whose own `step` field, counting completed updates, is step + 1).
   */
  step: number;
  /** The batch's training loss (mean of per-sample means) at θ_step. */
  loss: number;
  layers: number;
  heads: number;
  /** [layers*heads] the batch's activation pattern: mean over its samples of |∂L(x_i)/∂ξ|. */
  ap: Float64Array;
  /** [layers*heads] mean over its samples of the signed ∂L(x_i)/∂ξ. */
  signed: Float64Array;
  /** Gini and coefficient of variation of `ap` (lib/patterns/metrics.ts; NaN when ap is all 0). */
  gini: number;
  cv: number;
  /** perSample: the batch's samples as indices into the training data, in batch order. */
  samples?: number[];
  /** perSample: [batch, layers*heads] each sample's signed ∂L(x_i)/∂ξ. */
  scores?: Float64Array;
}

/**
 * The record of one training batch. headScores [layers, batch, heads] is the training backward's
 * output for a batch whose row i carries loss weights summing to weightSums[i].
 */
export function telemetryRecord(
  step: number, loss: number, headScores: Float32Array, weightSums: Float64Array,
  cfg: { layers: number; heads: number }, sampleIds?: readonly number[],
): TelemetryRecord {
  const { layers, heads } = cfg;
  const batch = weightSums.length;
  if (headScores.length !== layers * batch * heads) {
    throw new RangeError(`telemetry: headScores has ${headScores.length} values, expected layers·batch·heads = ${layers}·${batch}·${heads}`);
  }
  const n = layers * heads;
  const ap = new Float64Array(n);
  const signed = new Float64Array(n);
  const scores = sampleIds ? new Float64Array(batch * n) : undefined;
  for (let i = 0; i < batch; i++) {
    const share = weightSums[i]!;
    if (!(share > 0)) throw new RangeError(`telemetry: batch row ${i} carries no loss weight (sum ${share}), so it has no per-sample score`);
    for (let l = 0; l < layers; l++) {
      for (let h = 0; h < heads; h++) {
        const s = headScores[(l * batch + i) * heads + h]! / share; // ∂L(x_i)/∂ξ_{l,h}
        ap[l * heads + h] += Math.abs(s);
        signed[l * heads + h] += s;
        if (scores) scores[i * n + l * heads + h] = s;
      }
    }
  }
  for (let j = 0; j < n; j++) {
    ap[j] /= batch;
    signed[j] /= batch;
  }
  return {
    step, loss, layers, heads, ap, signed, gini: gini(ap), cv: cv(ap),
    ...(sampleIds ? { samples: [...sampleIds], scores } : {}),
  };
}

/** Whether the batch of (0-based) step `step` of a `steps`-step run is recorded. */
export function recordsStep(o: TelemetryOptions, step: number, steps: number): boolean {
  return step % (o.every ?? 1) === 0 || step === steps - 1;
}

/** The JSON form (one line of an --ap-trace file, and what training checkpoints keep): typed arrays as lists, NaN as null. */
export interface TelemetryJson {
  step: number;
  loss: number;
  layers: number;
  heads: number;
  ap: number[];
  signed: number[];
  gini: number | null;
  cv: number | null;
  samples?: number[];
  /** [batch][layers*heads] */
  scores?: number[][];
}

export function telemetryJson(r: TelemetryRecord): TelemetryJson {
  const n = r.layers * r.heads;
  const nan = (x: number) => (Number.isNaN(x) ? null : x);
  return {
    step: r.step, loss: r.loss, layers: r.layers, heads: r.heads, ap: [...r.ap], signed: [...r.signed], gini: nan(r.gini), cv: nan(r.cv),
    ...(r.samples ? { samples: [...r.samples], scores: r.samples.map((_, i) => [...r.scores!.subarray(i * n, (i + 1) * n)]) } : {}),
  };
}

/** Reads a record from its JSON form; errors start with `where` and name the field. */
export function telemetryFromJson(x: unknown, where: string): TelemetryRecord {
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what}`);
  };
  if (x === null || typeof x !== 'object' || Array.isArray(x)) fail('expected a telemetry record (an object)');
  const o = x as Record<string, unknown>;
  const int = (k: string, min: number) => {
    const v = o[k];
    if (!Number.isSafeInteger(v) || (v as number) < min) fail(`"${k}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const step = int('step', 0);
  const layers = int('layers', 1);
  const heads = int('heads', 1);
  const n = layers * heads;
  const numbers = (v: unknown, k: string, len: number): Float64Array => {
    if (!Array.isArray(v) || v.length !== len || !v.every((e) => typeof e === 'number' && Number.isFinite(e))) {
      fail(`"${k}" must be ${len} finite numbers (layers·heads = ${layers}·${heads})`);
    }
    return Float64Array.from(v as number[]);
  };
  const orNaN = (k: string) => {
    const v = o[k];
    if (v === null) return NaN;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`"${k}" must be a finite number or null, got ${JSON.stringify(v)}`);
    return v as number;
  };
  if (typeof o.loss !== 'number' || !Number.isFinite(o.loss)) fail(`"loss" must be a finite number, got ${JSON.stringify(o.loss)}`);
  const rec: TelemetryRecord = {
    step, loss: o.loss as number, layers, heads, ap: numbers(o.ap, 'ap', n), signed: numbers(o.signed, 'signed', n), gini: orNaN('gini'), cv: orNaN('cv'),
  };
  if (o.samples !== undefined || o.scores !== undefined) {
    const ids = o.samples;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((v) => Number.isSafeInteger(v) && v >= 0)) fail('"samples" must be a non-empty list of sample indices');
    const rows = o.scores;
    if (!Array.isArray(rows) || rows.length !== (ids as number[]).length) fail(`"scores" must hold one row per sample (${(ids as number[]).length})`);
    const scores = new Float64Array((ids as number[]).length * n);
    (rows as unknown[]).forEach((row, i) => scores.set(numbers(row, `scores[${i}]`, n), i * n));
    rec.samples = [...(ids as number[])];
    rec.scores = scores;
  }
  return rec;
}
