// Greedy generation of the engine checked against the float64 reference (helpers/reference_model.ts).
import { within } from './compare.js';
import { referenceForward, type ReferenceConfig } from './reference_model.js';

/**
 * The engine's greedy tokens, step by step on the engine's own prefix: each must be the
 * reference's argmax, or tie with it within `tie` of the logits' scale (max(1, max|logit|)).
 * f32 logits are off by a few 1e-6 of that scale, so two logits closer than about twice that may
 * swap; an exact argmax comparison then fails on the draws that happen to hold such a near tie. A
 * token off by more is a real difference (a wrong cache entry or position moves logits by O(0.1)).
 * Records the shortfall (best − chosen logit) / scale under `label` for the seed sweep.
 */
export function checkGreedy(label: string, cfg: ReferenceConfig, params: Float32Array | Float64Array, prompt: ArrayLike<number>,
  got: ArrayLike<number>, tie: number, gates?: ArrayLike<number>): void {
  const seq = Array.from(prompt);
  for (let k = 0; k < got.length; k++) {
    const token = got[k]!;
    const { logits } = referenceForward(cfg, params, seq, 1, seq.length, { gates });
    const last = logits.subarray((seq.length - 1) * cfg.vocabSize);
    let best = 0, scale = 1;
    for (let v = 0; v < cfg.vocabSize; v++) {
      if (last[v]! > last[best]!) best = v;
      scale = Math.max(scale, Math.abs(last[v]!));
    }
    within(label, (last[best]! - last[token]!) / scale, tie,
      `step ${k}: the engine chose ${token} (logit ${last[token]}), the reference's argmax is ${best} (logit ${last[best]})`);
    seq.push(token);
  }
}
