// When does the activation pattern settle during SFT? The rule, applied to a sequence of batch
// APs (telemetry records, in step order), is stated in SETTLE_RULE and printed beside every
// result. A single training batch's AP is noisy (a few samples), so the APs are smoothed first.
import { cosine } from '../patterns/metrics.js';

export const SETTLE_THRESHOLD = 0.9;

export const SETTLE_RULE =
  `Each batch AP is replaced by the mean of the APs of the w recorded steps around it (centred; fewer at the ends), with w = 5% of the recorded steps (at least 1). ` +
  `Progress at a step is cos(Ā_t − Ā_first, Ā_last − Ā_first), the direction of the pattern's change so far against its change over the whole run (0 at the first step). ` +
  `The pattern has settled at the first recorded step from which the progress stays at or above ${SETTLE_THRESHOLD} for every later recorded step.`;

export interface Settling {
  /** The smoothing window w, in recorded steps. */
  window: number;
  threshold: number;
  /** Progress per record (NaN where the run's whole change is zero). */
  progress: number[];
  /** The step at which the pattern settled; null when the run's AP did not change at all. */
  step: number | null;
}

/** The window for n recorded steps: 5% of them, at least 1. */
export function settleWindow(n: number): number {
  return Math.max(1, Math.round(n / 20));
}

export function settling(records: readonly { step: number; ap: ArrayLike<number> }[]): Settling {
  const n = records.length;
  if (n === 0) throw new RangeError('settling: expected at least one record');
  const w = settleWindow(n);
  const dim = records[0]!.ap.length;
  const half = Math.floor(w / 2);
  const smooth = records.map((_, k) => {
    const lo = Math.max(0, k - half);
    const hi = Math.min(n - 1, k - half + w - 1);
    const m = new Float64Array(dim);
    for (let q = lo; q <= hi; q++) for (let j = 0; j < dim; j++) m[j] += records[q]!.ap[j]! / (hi - lo + 1);
    return m;
  });
  const first = smooth[0]!;
  const total = smooth[n - 1]!.map((v, j) => v - first[j]!);
  const moved = total.some((v) => v !== 0);
  const progress = smooth.map((a, k) => (!moved ? NaN : k === 0 ? 0 : cosine(a.map((v, j) => v - first[j]!), total)));
  let at: number | null = null;
  if (moved) {
    let k = n - 1;
    while (k > 0 && progress[k - 1]! >= SETTLE_THRESHOLD) k--;
    // progress[n − 1] is 1 by construction, so k is the start of the final run at or above the threshold
    at = records[k]!.step;
  }
  return { window: w, threshold: SETTLE_THRESHOLD, progress, step: at };
}
