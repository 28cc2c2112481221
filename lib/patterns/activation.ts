// Activation patterns (docs/method.md): AP[l,h] = mean over samples of |∂L(x_i)/∂ξ_{l,h}|, where
// L(x_i) is the mean cross-entropy over x_i's own response tokens (+ eos) and ξ_{l,h} a gate on
// the head's output. The engine's backward returns that derivative per batch row (headScores
// [layers, batch, heads]); with per-sample loss weights 1/(response tokens) the batch loss is
// Σ_i L(x_i), and since rows do not interact, row i's score is exactly ∂L(x_i)/∂ξ — so the
// pattern does not depend on how the samples are batched (up to f32 rounding in the engine, whose
// GEMM shapes follow the batch; the batch plan below is therefore fixed by the data alone).
// Scores are summed exactly (exact_sum.ts), so the order of the sum does not matter either.
import { createHash } from 'node:crypto';
import type { GPT } from '../model.js';
import type { Tokenizer } from '../tokenizer.js';
import { makeBatch } from '../data/batch.js';
import { isChatSample, isTextSample, type TrainingSample } from '../data/sample.js';
import { VERSION } from '../version.js';
import type { Pattern, Provenance } from './pattern.js';
import { ExactSums } from './exact_sum.js';
import { HeadgradRangeError } from '../errors.js';

export interface ActivationPattern extends Pattern {
  /** Mean of the signed scores ∂L(x_i)/∂ξ_{l,h}, row-major [layers, heads]. */
  signed: Float64Array;
  /** Number of samples averaged. */
  samples: number;
}

export interface ActivationOptions {
  tokenizer: Tokenizer;
  /** Samples per forward/backward pass (default 16); only speed depends on it. */
  batchSize?: number;
}

/** Shard `index` (1-based) of `of`: every of-th batch of the whole run, starting at batch index - 1. */
export interface ShardSpec {
  index: number;
  of: number;
}

/** Exact per-head sums of |score| and of the signed score over `count` samples (exact_sum.ts). */
export interface ActivationSums {
  layers: number;
  heads: number;
  abs: ExactSums;
  signed: ExactSums;
  count: number;
}

/** The activation pattern of `model` on `samples`. Runs forward + backward only; never updates weights. */
export async function activationPattern(model: GPT, samples: readonly TrainingSample[], opts: ActivationOptions): Promise<ActivationPattern> {
  if (samples.length === 0) throw new HeadgradRangeError('activationPattern: samples must not be empty');
  return patternFromSums(await activationSums(model, samples, opts));
}

/**
 * The per-head sums behind an activation pattern, for all samples or for one shard of them.
 * The run's batches are fixed by the samples and the batch size alone (samples ordered by
 * length, then cut into batches), and a shard takes whole batches of that plan: so every sample
 * is scored in the same batch, with the same padding, as in the single run, and with exact sums
 * the merged shards equal the single run bit for bit (same backend and thread count).
 */
export async function activationSums(model: GPT, samples: readonly TrainingSample[], opts: ActivationOptions & { shard?: ShardSpec }): Promise<ActivationSums> {
  const batchSize = opts.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new HeadgradRangeError(`activationPattern: batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  const shard = opts.shard ?? { index: 1, of: 1 };
  if (!Number.isInteger(shard.of) || shard.of < 1 || !Number.isInteger(shard.index) || shard.index < 1 || shard.index > shard.of) {
    throw new HeadgradRangeError(`activationPattern: shard must be K/N with 1 <= K <= N, got ${shard.index}/${shard.of}`);
  }
  const { layers, heads } = model.config;
  const abs = new ExactSums(layers * heads);
  const signed = new ExactSums(layers * heads);
  let count = 0;
  const ordered = byLength(samples, opts.tokenizer);
  for (let i = batchSize * (shard.index - 1); i < ordered.length; i += batchSize * shard.of) {
    const b = makeBatch(ordered.slice(i, i + batchSize), opts.tokenizer, { maxSeqLen: model.config.maxSeqLen, weighting: 'sample' });
    // Scores only: no weight gradients, and the LM head runs only where a response token is a target.
    await model.forward(b.tokens, { batch: b.batch, seqLen: b.seqLen, targets: b.targets, lossWeights: b.lossWeights, scoresOnly: true });
    const { headScores } = await model.backward({ scoresOnly: true }); // [layers, batch, heads]
    for (let l = 0; l < layers; l++) {
      for (let r = 0; r < b.batch; r++) {
        for (let h = 0; h < heads; h++) {
          const s = headScores[(l * b.batch + r) * heads + h]!;
          abs.add(l * heads + h, Math.abs(s));
          signed.add(l * heads + h, s);
        }
      }
    }
    count += b.batch;
  }
  return { layers, heads, abs, signed, count };
}

/** AP = (exact sum of |score|) / count, and the signed mean likewise; each rounded once per step. */
export function patternFromSums(s: ActivationSums): ActivationPattern {
  if (s.count < 1) throw new HeadgradRangeError('activation pattern: no samples were scored');
  const values = s.abs.values().map((v) => v / s.count);
  const signed = s.signed.values().map((v) => v / s.count);
  return { layers: s.layers, heads: s.heads, values, signed, samples: s.count };
}

/**
 * The samples sorted by token length. Rows are independent, so the batching order does not
 * change the pattern; batching similar lengths together avoids most of the padding.
 */
function byLength(samples: readonly TrainingSample[], tokenizer: Tokenizer): TrainingSample[] {
  const length = (s: TrainingSample) => isChatSample(s)
    ? s.messages.reduce((n, m) => n + tokenizer.encode(m.content).length, 0)
    : isTextSample(s) ? tokenizer.encode(s.text).length
    : tokenizer.encode(s.prompt).length + tokenizer.encode(s.response).length;
  return samples.map((s) => ({ s, n: length(s) })).sort((a, b) => a.n - b.n).map((x) => x.s);
}

/**
 * sha256 (hex) of the model's parameters in canonical order, as little-endian f32 bytes. Read in
 * slices, so hashing a large model needs no second copy of it.
 */
export function modelHash(model: GPT): string {
  const h = createHash('sha256');
  const n = model.parameterCount;
  for (let at = 0; at < n; at += 1 << 22) {
    const p = model.exportParameterRange(at, Math.min(1 << 22, n - at));
    h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  }
  return h.digest('hex');
}

/** sha256 (hex) of the samples' texts, in order (one JSON [prompt, response], [[role, content], ...] or the document's text, per line). */
export function dataHash(samples: readonly TrainingSample[]): string {
  const h = createHash('sha256');
  const fields = (s: TrainingSample) => isChatSample(s) ? s.messages.map((m) => [m.role, m.content]) : isTextSample(s) ? s.text : [s.prompt, s.response];
  for (const s of samples) h.update(JSON.stringify(fields(s)) + '\n');
  return h.digest('hex');
}

/** Provenance for a pattern of `model` on `samples` (written into pattern files). */
export function patternProvenance(model: GPT, samples: readonly TrainingSample[], o: { seed: number; task?: string }): Provenance {
  return {
    modelHash: modelHash(model), dataHash: dataHash(samples), samples: samples.length, seed: o.seed,
    ...(o.task !== undefined ? { task: o.task } : {}),
    createdAt: new Date().toISOString(), toolVersion: VERSION,
  };
}
