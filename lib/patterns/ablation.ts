// Causal check of "task-specific heads" (docs/method.md, beyond the paper): gate off (ξ = 0) the k
// heads with the largest activation on a task and measure the task's exact-match accuracy,
// against the baseline with no head ablated and against k heads drawn at random (several seeded
// draws, uniform over all layers·heads heads, so a draw may overlap the top-k set).
import type { GPT } from '../model.js';
import type { TrainingSample } from '../data/sample.js';
import type { Tokenizer } from '../tokenizer.js';
import { Rng } from '../util/random.js';
import { exactMatchAccuracy, type Checker } from '../evaluate.js';
import { topK } from './metrics.js';
import type { Pattern } from './pattern.js';
import { HeadgradRangeError } from '../errors.js';

export interface AblationOptions {
  tokenizer: Tokenizer;
  check: Checker;
  /** Number of heads to gate off. */
  k: number;
  /** Random k-head draws to compare with (default 5). */
  draws?: number;
  /** Seeds the random draws (default 0). */
  seed?: number;
}

export interface AblatedRun {
  /** Flat head indices l*heads + h that were gated off. */
  heads: number[];
  accuracy: number;
}

export interface AblationResult {
  k: number;
  baseline: number;
  topK: AblatedRun;
  random: { runs: AblatedRun[]; mean: number; /** sample std (n − 1); 0 for one draw */ std: number };
}

/**
 * Runs `use` with the heads `off` (flat indices l·heads + h) gated off on top of the gates in
 * force, then restores those gates, also when `use` fails.
 */
export async function withHeadsOff<T>(model: GPT, off: readonly number[], use: () => Promise<T>): Promise<T> {
  const previous = model.headGates();
  const gates = previous.slice();
  for (const j of off) gates[j] = 0;
  model.setHeadGates(gates);
  try {
    return await use();
  } finally {
    model.setHeadGates(previous);
  }
}

/**
 * Accuracy of `model` on `samples` with the top-k heads of `pattern` ablated, versus random
 * heads and no ablation. Ablation gates heads off on top of the gates in force (model.headGates()),
 * which are restored afterwards, also when a run fails.
 */
export async function ablateHeads(model: GPT, samples: readonly TrainingSample[], pattern: Pattern, opts: AblationOptions): Promise<AblationResult> {
  const { layers, heads } = model.config;
  const n = layers * heads;
  if (pattern.layers !== layers || pattern.heads !== heads) {
    throw new HeadgradRangeError(`ablateHeads: pattern is ${pattern.layers}x${pattern.heads} (layers x heads), the model ${layers}x${heads}`);
  }
  if (!Number.isInteger(opts.k) || opts.k < 1 || opts.k > n) throw new HeadgradRangeError(`ablateHeads: k must be an integer in [1, ${n}], got ${opts.k}`);
  const draws = opts.draws ?? 5;
  if (!Number.isInteger(draws) || draws < 1) throw new HeadgradRangeError(`ablateHeads: draws must be a positive integer, got ${opts.draws}`);
  if (samples.length === 0) throw new HeadgradRangeError('ablateHeads: samples must not be empty');

  const accuracyWithout = (off: number[]): Promise<AblatedRun> =>
    withHeadsOff(model, off, async () => ({ heads: off, accuracy: await exactMatchAccuracy(model, samples, opts) }));

  const baseline = (await accuracyWithout([])).accuracy;
  const top = await accuracyWithout(topK(pattern.values, opts.k));
  const rng = new Rng(opts.seed ?? 0);
  const runs: AblatedRun[] = [];
  for (let d = 0; d < draws; d++) runs.push(await accuracyWithout(rng.sample(n, opts.k)));
  return { k: opts.k, baseline, topK: top, random: { runs, ...meanStd(runs.map((r) => r.accuracy)) } };
}

function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return { mean, std: 0 };
  const ss = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (xs.length - 1)) };
}
