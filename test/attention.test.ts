import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  attentionBackward, attentionBackwardSync, attentionForward, attentionForwardSync, backendInfo,
  type AttentionOptions, type AttentionShape,
} from '../lib/index.js';
import { Rng } from '../lib/util/random.js';
import { referenceAttention } from './helpers/attention_reference.js';
import { maxRelError, sameBits, within } from './helpers/compare.js';
import { rejects } from './helpers/rejects.js';
import { testSeed } from './helpers/seed.js';

const SEED = testSeed('attention');

const rng = new Rng(SEED + 2409_15820);
const numel = (s: AttentionShape) => s.batch * s.heads * s.seqLen * s.headDim;
function randn(n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal();
  return x;
}
function inputs(s: AttentionShape) {
  const n = numel(s);
  return { q: randn(n), k: randn(n), v: randn(n), dout: randn(n) };
}
const cpu: AttentionOptions = { device: 'cpu' };

const cases: [AttentionShape, boolean, number | undefined][] = [
  [{ batch: 1, heads: 1, seqLen: 1, headDim: 8 }, true, undefined],
  [{ batch: 1, heads: 1, seqLen: 1, headDim: 8 }, false, undefined],
  [{ batch: 2, heads: 3, seqLen: 67, headDim: 64 }, true, undefined],
  [{ batch: 1, heads: 2, seqLen: 67, headDim: 64 }, false, 0.2],
  [{ batch: 1, heads: 1, seqLen: 130, headDim: 100 }, true, undefined],
  [{ batch: 5, heads: 2, seqLen: 9, headDim: 8 }, false, undefined],
];

for (const [shape, causal, scale] of cases) {
  test(`forward and backward match the float64 reference: ${JSON.stringify(shape)} causal=${causal} scale=${scale}`, async () => {
    const { q, k, v, dout } = inputs(shape);
    const opts = { ...cpu, causal, scale };
    const ref = referenceAttention(q, k, v, dout, shape, causal, scale ?? 1 / Math.sqrt(shape.headDim));
    const fwd = await attentionForward(q, k, v, shape, opts);
    const key = `${shape.batch}x${shape.heads}x${shape.seqLen}x${shape.headDim} causal=${causal}`;
    within(`attention out ${key}`, maxRelError(fwd.out, ref.out), 2e-5);
    within(`attention lse ${key}`, maxRelError(fwd.lse, ref.lse), 2e-6);
    const bwd = await attentionBackward(dout, q, k, v, fwd.out, fwd.lse, shape, opts);
    for (const name of ['dq', 'dk', 'dv'] as const) within(`attention ${name} ${key}`, maxRelError(bwd[name], ref[name]), 1e-4);
    assert.is(bwd.headScore.length, shape.batch * shape.heads);
    // each head's error over |its score| + √(T·d), the scale of a sum of T·d f32 products
    let headErr = 0;
    for (let i = 0; i < ref.headScore.length; i++) {
      headErr = Math.max(headErr, Math.abs(bwd.headScore[i] - ref.headScore[i]) / (Math.abs(ref.headScore[i]) + Math.sqrt(shape.seqLen * shape.headDim)));
    }
    within(`attention headScore ${key}`, headErr, 1e-4);
  });
}

// L = Σ dout∘out, evaluated in float64 over the kernel's f32 output.
function loss(q: Float32Array, k: Float32Array, v: Float32Array, dout: Float32Array, shape: AttentionShape,
  opts: AttentionOptions): number {
  const { out } = attentionForwardSync(q, k, v, shape, opts);
  let l = 0;
  for (let i = 0; i < out.length; i++) l += dout[i] * out[i];
  return l;
}

for (const causal of [true, false]) {
  test(`dq, dk, dv match central finite differences of L = Σ dout∘out (causal=${causal})`, () => {
    const shape = { batch: 1, heads: 2, seqLen: 5, headDim: 4 };
    const { q, k, v, dout } = inputs(shape);
    const opts = { ...cpu, causal };
    const fwd = attentionForwardSync(q, k, v, shape, opts);
    const grads = attentionBackwardSync(dout, q, k, v, fwd.out, fwd.lse, shape, opts);
    const wrt = { dq: q, dk: k, dv: v };
    // the error of each sampled derivative over 1 + |analytic|; the worst one is recorded
    let worst = 0;
    let where = '';
    for (const name of ['dq', 'dk', 'dv'] as const) {
      const x = wrt[name];
      for (let i = 0; i < x.length; i++) {
        const x0 = x[i];
        x[i] = x0 + 1e-2;
        const xp = x[i];
        const lp = loss(q, k, v, dout, shape, opts);
        x[i] = x0 - 1e-2;
        const xm = x[i];
        const lm = loss(q, k, v, dout, shape, opts);
        x[i] = x0;
        const fd = (lp - lm) / (xp - xm);
        const g = grads[name][i];
        const err = Math.abs(fd - g) / (1 + Math.abs(g));
        if (err > worst) [worst, where] = [err, `${name}[${i}]: analytic ${g}, finite difference ${fd}`];
      }
    }
    within(`attention finite differences causal=${causal}`, worst, 2e-3, where);
  });
}

test('headScore[b,h] is ∂L/∂ξ for a gate ξ on the head output, L(ξ) = Σ dout∘(ξ·out)', async () => {
  const shape = { batch: 2, heads: 3, seqLen: 11, headDim: 8 };
  const { q, k, v, dout } = inputs(shape);
  const fwd = await attentionForward(q, k, v, shape, cpu);
  const { headScore } = await attentionBackward(dout, q, k, v, fwd.out, fwd.lse, shape, cpu);
  const per = shape.seqLen * shape.headDim;
  const gated = (bh: number, xi: number) => {
    let l = 0;
    for (let i = 0; i < fwd.out.length; i++) l += dout[i] * (Math.floor(i / per) === bh ? xi : 1) * fwd.out[i];
    return l;
  };
  let worst = 0;
  let where = '';
  for (let bh = 0; bh < shape.batch * shape.heads; bh++) {
    const fd = (gated(bh, 1 + 1e-3) - gated(bh, 1 - 1e-3)) / 2e-3;
    const err = Math.abs(fd - headScore[bh]) / (1 + Math.abs(fd));
    if (err > worst) [worst, where] = [err, `head ${bh}: ${headScore[bh]} vs ${fd}`];
  }
  within('attention headScore gate finite difference', worst, 1e-4, where);
});

test('results are bitwise identical across repeated calls, and between Promise and Sync', async () => {
  const shape = { batch: 2, heads: 4, seqLen: 150, headDim: 32 };
  const { q, k, v, dout } = inputs(shape);
  const a = attentionForwardSync(q, k, v, shape, cpu);
  const [b, c] = await Promise.all([attentionForward(q, k, v, shape, cpu), attentionForward(q, k, v, shape, cpu)]);
  assert.equal(b.out, a.out);
  assert.equal(c.out, a.out);
  assert.equal(b.lse, a.lse);
  const ga = attentionBackwardSync(dout, q, k, v, a.out, a.lse, shape, cpu);
  const [gb, gc] = await Promise.all([
    attentionBackward(dout, q, k, v, a.out, a.lse, shape, cpu),
    attentionBackward(dout, q, k, v, a.out, a.lse, shape, cpu),
  ]);
  for (const g of [gb, gc]) {
    for (const name of ['dq', 'dk', 'dv', 'headScore'] as const) assert.equal(g[name], ga[name], name);
  }
});

test('results do not depend on the number of threads', () => {
  const digest = (threads: string) => execFileSync(process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./helpers/attention_digest.ts', import.meta.url))],
    { env: { ...process.env, HEADGRAD_THREADS: threads }, encoding: 'utf8' }).trim();
  const one = digest('1');
  assert.match(one, /^[0-9a-f]{64}$/);
  assert.is(digest('3'), one);
});

test('captureScore: false leaves the gradients unchanged and headScore zero', () => {
  const shape = { batch: 1, heads: 2, seqLen: 20, headDim: 8 };
  const { q, k, v, dout } = inputs(shape);
  const f = attentionForwardSync(q, k, v, shape, cpu);
  const on = attentionBackwardSync(dout, q, k, v, f.out, f.lse, shape, cpu);
  const off = attentionBackwardSync(dout, q, k, v, f.out, f.lse, shape, { ...cpu, captureScore: false });
  assert.ok(sameBits(off.dq, on.dq) && sameBits(off.dk, on.dk) && sameBits(off.dv, on.dv), 'dq, dk, dv bitwise equal');
  assert.equal(off.headScore, new Float32Array(2));
  assert.ok(on.headScore.some((x) => x !== 0));
});

// ---- bad input ---------------------------------------------------------------------------
const good = { batch: 1, heads: 2, seqLen: 3, headDim: 4 };
const n = numel(good);
const ok = () => new Float32Array(n);
const nan = () => { const x = randn(n); x[5] = NaN; return x; };
const cudaAvailable = backendInfo().cuda.available;

const badForward: [string, () => unknown, RegExp, ErrorConstructor][] = [
  ['wrong length', () => attentionForwardSync(new Float32Array(n - 1), ok(), ok(), good), /q: expected length 24 .*got 23/, RangeError],
  ['wrong array type', () => attentionForwardSync(ok(), new Float64Array(n) as never, ok(), good), /k: expected a Float32Array, got Float64Array/, TypeError],
  ['plain array', () => attentionForwardSync(ok(), ok(), [1, 2] as never, good), /v: expected a Float32Array, got Array/, TypeError],
  ['zero dim', () => attentionForwardSync(ok(), ok(), ok(), { ...good, heads: 0 }), /shape.heads: expected a positive integer, got number 0/, RangeError],
  ['negative dim', () => attentionForwardSync(ok(), ok(), ok(), { ...good, batch: -1 }), /shape.batch: expected a positive integer/, RangeError],
  ['fractional dim', () => attentionForwardSync(ok(), ok(), ok(), { ...good, seqLen: 2.5 }), /shape.seqLen: expected a positive integer, got number 2.5/, RangeError],
  ['missing dim', () => attentionForwardSync(ok(), ok(), ok(), { batch: 1, heads: 2, seqLen: 3 } as never), /shape.headDim: expected a positive integer, got undefined/, TypeError],
  ['headDim > 256', () => attentionForwardSync(new Float32Array(257), new Float32Array(257), new Float32Array(257), { batch: 1, heads: 1, seqLen: 1, headDim: 257 }), /shape.headDim: expected at most 256, got 257/, RangeError],
  ['NaN input', () => attentionForwardSync(ok(), nan(), ok(), good), /k: expected finite values, got NaN at index 5/, RangeError],
  ['seqLen mismatch', () => attentionForwardSync(ok(), ok(), ok(), { ...good, seqLen: 4 }), /q: expected length 32 .*got 24/, RangeError],
  ['bad scale', () => attentionForwardSync(ok(), ok(), ok(), good, { scale: -1 }), /opts.scale: expected a finite positive number, got number -1/, RangeError],
  ['bad causal', () => attentionForwardSync(ok(), ok(), ok(), good, { causal: 'yes' as never }), /opts.causal: expected a boolean/, TypeError],
  ['bad device', () => attentionForwardSync(ok(), ok(), ok(), good, { device: 'tpu' as never }), /device must be 'auto', 'cpu' or 'cuda', got "tpu"/, TypeError],
  ['bf16 on cpu', () => attentionForwardSync(ok(), ok(), ok(), good, { device: 'cpu', precision: 'bf16' }), /opts.precision: 'bf16' runs on the CUDA backend only/, RangeError],
];
if (!cudaAvailable) {
  badForward.push(['cuda without a GPU', () => attentionForwardSync(ok(), ok(), ok(), good, { device: 'cuda' }), /device 'cuda' requested but/, Error]);
}

for (const [name, call, message, kind] of badForward) {
  test(`bad input is rejected with a clear error: ${name}`, () => {
    try {
      call();
      assert.unreachable('should have thrown');
    } catch (e) {
      assert.instance(e, kind);
      assert.match((e as Error).message, message);
    }
  });
}

test('the addon re-validates what a caller passes to it directly', async () => {
  const { native } = await import('../lib/native.js');
  const opts = { causal: true, scale: 0.5, device: 'cpu' as const, precision: 'f32' as const };
  assert.throws(() => native.attentionForwardSync(ok(), ok(), new Float32Array(3), good, opts), /v: expected length 24, got 3/);
  assert.throws(() => native.attentionForwardSync(ok(), ok(), ok(), { ...good, headDim: 0 }, opts), /shape.headDim: expected a positive integer/);
  assert.throws(() => native.attentionForwardSync(ok(), ok(), ok(), good, { ...opts, precision: 'bf16' }), /'bf16' runs on the CUDA backend only/);
  assert.throws(() => native.attentionForwardSync(ok(), ok(), ok(), good, { ...opts, device: 'gpu' as never }), /opts.device: expected one of cpu\|cuda, got 'gpu'/);
  if (!backendInfo().cuda.compiled) {
    assert.throws(() => native.attentionForwardSync(ok(), ok(), ok(), good, { ...opts, device: 'cuda' }), /this build has no CUDA backend/);
    // The same error raised inside the AsyncWorker rejects the Promise with it.
    const err = await native.attentionForward(ok(), ok(), ok(), good, { ...opts, device: 'cuda' }).then(() => null, (e: Error) => e);
    assert.match(err?.message ?? 'resolved', /this build has no CUDA backend/);
  }
  const lse = new Float32Array(6);
  assert.throws(() => native.attentionBackward(ok(), ok(), ok(), ok(), ok(), new Float32Array(5), good, opts), /lse: expected length 6, got 5/);
  assert.throws(() => native.attentionBackward(ok(), ok(), ok(), ok(), nan(), lse, good, opts), /out: expected finite values/);
});

test('the Promise API rejects (not throws) on bad input, and a correct call afterwards works', async () => {
  const shape = { batch: 1, heads: 1, seqLen: 7, headDim: 8 };
  const { q, k, v, dout } = inputs(shape);
  let rejected = false;
  await attentionForward(q, k, new Float32Array(3), shape, cpu).catch((e: Error) => {
    rejected = e instanceof RangeError && /v: expected length 56/.test(e.message);
  });
  assert.ok(rejected);
  await rejects(attentionBackward(dout, q, k, v, q, new Float32Array(6), shape, cpu), /lse: expected length 7/);
  const f = await attentionForward(q, k, v, shape, cpu);
  const g = await attentionBackward(dout, q, k, v, f.out, f.lse, shape, cpu);
  const ref = referenceAttention(q, k, v, dout, shape, true, 1 / Math.sqrt(8));
  within('attention dq after rejected calls', maxRelError(g.dq, ref.dq), 1e-4);
});

test('results say what precision ran: f32 on the CPU; backendInfo lists the bf16 CUDA head sizes', async () => {
  const f = attentionForwardSync(ok(), ok(), ok(), good, { device: 'cpu' });
  assert.is(f.precision, 'f32');
  const b = await attentionBackward(ok(), ok(), ok(), ok(), f.out, f.lse, good, { device: 'cpu' });
  assert.is(b.precision, 'f32');
  const dims = backendInfo().cuda.bf16AttentionHeadDims;
  assert.ok(Array.isArray(dims) && dims.every((d) => Number.isInteger(d) && d >= 1 && d <= 256), JSON.stringify(dims));
  // the CUDA build has tensor-core kernels for 64 and 128; a CPU-only build lists none
  assert.equal(dims, backendInfo().cuda.compiled ? [64, 128] : []);
});

test.run();
