// Naive float64 attention (the formulas of native/core/attention.h, with P materialised), used
// as the reference for the fused kernels. Layouts: [batch, heads, seqLen, headDim].
import type { AttentionShape } from '../../lib/attention.js';

export interface ReferenceResult {
  out: Float64Array; lse: Float64Array; dq: Float64Array; dk: Float64Array; dv: Float64Array; headScore: Float64Array;
}

export function referenceAttention(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  dout: ArrayLike<number>, s: AttentionShape, causal: boolean, scale: number): ReferenceResult {
  const { seqLen: T, headDim: D } = s;
  const BH = s.batch * s.heads;
  const n = BH * T * D;
  const r: ReferenceResult = {
    out: new Float64Array(n), lse: new Float64Array(BH * T), dq: new Float64Array(n), dk: new Float64Array(n),
    dv: new Float64Array(n), headScore: new Float64Array(BH),
  };
  for (let bh = 0; bh < BH; bh++) {
    const o = bh * T * D;
    const P = new Float64Array(T * T);
    const visible = (i: number) => (causal ? i + 1 : T);
    for (let i = 0; i < T; i++) {
      let mx = -Infinity;
      for (let j = 0; j < visible(i); j++) {
        let acc = 0;
        for (let d = 0; d < D; d++) acc += q[o + i * D + d] * k[o + j * D + d];
        P[i * T + j] = scale * acc;
        mx = Math.max(mx, P[i * T + j]);
      }
      let sum = 0;
      for (let j = 0; j < visible(i); j++) sum += Math.exp(P[i * T + j] - mx);
      const lse = mx + Math.log(sum);
      r.lse[bh * T + i] = lse;
      for (let j = 0; j < visible(i); j++) P[i * T + j] = Math.exp(P[i * T + j] - lse);
      for (let j = 0; j < visible(i); j++) {
        for (let d = 0; d < D; d++) r.out[o + i * D + d] += P[i * T + j] * v[o + j * D + d];
      }
    }
    for (let i = 0; i < T; i++) {
      let Di = 0;
      for (let d = 0; d < D; d++) Di += dout[o + i * D + d] * r.out[o + i * D + d];
      r.headScore[bh] += Di;
      for (let j = 0; j < visible(i); j++) {
        let dp = 0;
        for (let d = 0; d < D; d++) dp += dout[o + i * D + d] * v[o + j * D + d];
        const ds = P[i * T + j] * (dp - Di);
        for (let d = 0; d < D; d++) {
          r.dv[o + j * D + d] += P[i * T + j] * dout[o + i * D + d];
          r.dq[o + i * D + d] += scale * ds * k[o + j * D + d];
          r.dk[o + j * D + d] += scale * ds * q[o + i * D + d];
        }
      }
    }
  }
  return r;
}
