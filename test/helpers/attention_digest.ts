// Prints a SHA-256 of the forward and backward outputs for fixed inputs, so that a test can
// compare runs made with different HEADGRAD_THREADS in separate processes.
import { createHash } from 'node:crypto';
import { attentionBackwardSync, attentionForwardSync } from '../../lib/index.js';
import { Rng } from '../../lib/util/random.js';

// headDim 24: the portable kernels; 64: the AVX-512 forward where the build has it.
const rng = new Rng(7);
const hash = createHash('sha256');
for (const shape of [{ batch: 1, heads: 3, seqLen: 200, headDim: 24 }, { batch: 2, heads: 3, seqLen: 131, headDim: 64 }]) {
  const n = shape.batch * shape.heads * shape.seqLen * shape.headDim;
  const [q, k, v, dout] = [0, 1, 2, 3].map(() => Float32Array.from({ length: n }, () => rng.normal()));
  for (const causal of [true, false]) {
    const f = attentionForwardSync(q, k, v, shape, { device: 'cpu', causal });
    const g = attentionBackwardSync(dout, q, k, v, f.out, f.lse, shape, { device: 'cpu', causal });
    for (const a of [f.out, f.lse, g.dq, g.dk, g.dv, g.headScore]) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
}
console.log(hash.digest('hex'));
