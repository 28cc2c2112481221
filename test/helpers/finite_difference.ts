// Parameter gradients against central differences of the float64 reference loss, a few elements
// per tensor (always its first and last), shared by the Llama-family and the families suites.
import { parameterLayout, type GPTConfig } from '../../lib/index.js';
import type { Rng } from '../../lib/util/random.js';

export interface SampledGradients {
  /** the tensor's name in the layout */
  name: string;
  /** the engine's gradient at the sampled elements */
  got: number[];
  /** (L(p + eps) − L(p − eps)) / 2eps of the float64 loss at the same elements */
  want: number[];
}

/** `loss(p)` is the float64 loss at parameters p; it is called with p perturbed in place, one element at a time. */
export function sampledCentralDifferences(cfg: GPTConfig, params: ArrayLike<number>, grads: ArrayLike<number>,
  loss: (p: Float64Array) => number, rng: Rng, eps = 1e-5): SampledGradients[] {
  const p64 = Float64Array.from(params);
  const out: SampledGradients[] = [];
  for (const t of parameterLayout(cfg)) {
    if (t.size === 0) continue;
    const idx = [0, t.size - 1, ...Array.from({ length: 4 }, () => rng.int(t.size))].map((i) => t.offset + i);
    const got: number[] = [], want: number[] = [];
    for (const i of idx) {
      const saved = p64[i]!;
      p64[i] = saved + eps;
      const up = loss(p64);
      p64[i] = saved - eps;
      const down = loss(p64);
      p64[i] = saved;
      want.push((up - down) / (2 * eps));
      got.push(grads[i]!);
    }
    out.push({ name: t.name, got, want });
  }
  return out;
}
