// Inputs are owned at call time and outputs are allocated off the callback: a caller that
// refills its buffers right after an un-awaited call (as a data loader does) gets the result of
// the values it passed, and a failed output allocation rejects the Promise instead of ending
// the process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { attentionBackward, attentionForward, GPT } from '../lib/index.js';
import { native } from '../lib/native.js';
import { Rng } from '../lib/util/random.js';
import { testSeed } from './helpers/seed.js';

const SEED = testSeed('ownership');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Large enough that the kernels are still running when the caller's writes land.
const shape = { batch: 2, heads: 4, seqLen: 192, headDim: 64 };
const n = shape.batch * shape.heads * shape.seqLen * shape.headDim;
const cpu = { device: 'cpu' as const };
const tiny = { vocabSize: 11, maxSeqLen: 8, layers: 2, heads: 2, dim: 8 };

function randomFloats(rng: Rng, len: number): Float32Array {
  return Float32Array.from({ length: len }, () => rng.next() * 2 - 1);
}
function randomTokens(rng: Rng, len: number, vocab: number): Int32Array {
  return Int32Array.from({ length: len }, () => Math.floor(rng.next() * vocab));
}

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.is(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.unreachable(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('attentionForward/Backward: refilling the inputs right after the call changes nothing', async () => {
  const rng = new Rng(SEED + 3);
  for (let round = 0; round < 5; round++) {
    const [q, k, v, dout] = [0, 1, 2, 3].map(() => randomFloats(rng, n)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const ref = await attentionForward(q.slice(), k.slice(), v.slice(), shape, cpu);
    const refGrad = await attentionBackward(dout.slice(), q.slice(), k.slice(), v.slice(), ref.out.slice(), ref.lse.slice(), shape, cpu);

    const [out, lse] = [ref.out.slice(), ref.lse.slice()];
    const fwd = attentionForward(q, k, v, shape, cpu);
    const bwd = attentionBackward(dout, q, k, v, out, lse, shape, cpu);
    // NaN too: the finite check ran on the copies, before these writes.
    for (const a of [q, k, v, dout, out, lse]) a.fill(NaN);
    const [got, grad] = await Promise.all([fwd, bwd]);
    sameBits(got.out, ref.out, 'out');
    sameBits(got.lse, ref.lse, 'lse');
    for (const key of ['dq', 'dk', 'dv', 'headScore'] as const) sameBits(grad[key], refGrad[key], key);
  }
});

test('GPT forward/generate/step: later writes to tokens, targets, weights, prompt and masks change nothing', async () => {
  const rng = new Rng(SEED + 5);
  const B = 2, T = 6;
  const a = await GPT.create({ ...tiny, seed: (SEED + 9) >>> 0 });
  const b = await GPT.create({ ...tiny, seed: (SEED + 9) >>> 0 });
  for (let round = 0; round < 4; round++) {
    const tokens = randomTokens(rng, B * T, tiny.vocabSize);
    const targets = randomTokens(rng, B * T, tiny.vocabSize);
    const weights = Float32Array.from({ length: B * T }, () => rng.next());
    const heads = Uint8Array.from([1, 0, 0, 1]);
    const o = { batch: B, seqLen: T, targets, lossWeights: weights, returnLogits: true };
    const ref = await a.forward(tokens.slice(), { ...o, targets: targets.slice(), lossWeights: weights.slice() });
    await a.backward();
    await a.step({ lr: 1e-2, trainableHeads: heads.slice() });

    const fwd = b.forward(tokens, o);
    const bwd = b.backward();
    const stp = b.step({ lr: 1e-2, trainableHeads: heads });
    // Out-of-range ids and negative weights: they would be refused, and must never be read.
    tokens.fill(1 << 30); targets.fill(-5); weights.fill(-1); heads.fill(1);
    const got = await fwd;
    await bwd;
    await stp;
    assert.is(got.loss, ref.loss);
    sameBits(got.logits!, ref.logits!, 'logits');
    sameBits(b.exportParametersSync(), a.exportParametersSync(), 'parameters after step');
  }
  const prompt = Int32Array.from([1, 2, 3]);
  const want = await a.generate(prompt.slice(), { maxNewTokens: 4 });
  const pending = b.generate(prompt, { maxNewTokens: 4 });
  prompt.fill(1 << 30);
  sameBits(await pending, want, 'generated tokens');
  a.dispose();
  b.dispose();
});

test('the raw addon copies too: ids made invalid after a call are never read', async () => {
  const cfg = { vocabSize: 300, maxSeqLen: 64, layers: 2, heads: 4, dim: 64 };
  const handle = await native.GPTModel.create({ ...cfg, seed: (SEED + 2) >>> 0, device: 'cpu', precision: 'f32' });
  const tokens = Int32Array.from({ length: 4 * 64 }, (_, i) => (i * 7) % 300);
  const o = { batch: 4, seqLen: 64, returnLogits: true };
  const ref = await handle.forward(tokens.slice(), { ...o, targets: tokens.slice() });
  const targets = tokens.slice();
  const pending = handle.forward(tokens, { ...o, targets });
  tokens.fill(-(1 << 30));
  targets.fill(1 << 30);
  const got = await pending;
  assert.is(got.loss, ref.loss);
  sameBits(got.logits!, ref.logits!, 'logits');
  const prompt = Int32Array.from([3, 4]);
  const want = await handle.generate(prompt.slice(), { maxNewTokens: 3 });
  const gen = handle.generate(prompt, { maxNewTokens: 3 });
  prompt.fill(1 << 30);
  sameBits(await gen, want, 'generate');
  handle.dispose();
});

test('a failed output allocation rejects the Promise with a clear error; the process and the model carry on', () => {
  // HEADGRAD_TEST_FAIL_OUTPUT_ALLOC=1 (native/addon/async_job.h) makes every output allocation
  // on a worker thread fail as if memory were exhausted.
  const script = `
    import { attentionForward, attentionBackward, GPT } from './lib/index.js';
    const s = { batch: 1, heads: 1, seqLen: 4, headDim: 8 };
    const x = new Float32Array(32).fill(0.5), lse = new Float32Array(4);
    const result = {};
    const outcome = (p) => p.then(() => 'resolved', (e) => e.constructor.name + ': ' + e.message);
    result.forward = await outcome(attentionForward(x, x, x, s, { device: 'cpu' }));
    result.backward = await outcome(attentionBackward(x, x, x, x, x, lse, s, { device: 'cpu' }));
    const m = await GPT.create({ vocabSize: 11, maxSeqLen: 8, layers: 1, heads: 2, dim: 8 });
    const t = new Int32Array(8).fill(1);
    result.logits = await outcome(m.forward(t, { batch: 1, seqLen: 8, targets: t, returnLogits: true }));
    result.loss = (await m.forward(t, { batch: 1, seqLen: 8, targets: t })).loss; // no output array: works
    result.scores = await outcome(m.backward());
    result.generate = await outcome(m.generate(t.subarray(0, 2), { maxNewTokens: 2 }));
    console.log(JSON.stringify(result));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root, encoding: 'utf8', env: { ...process.env, HEADGRAD_TEST_FAIL_OUTPUT_ALLOC: '1' }, timeout: 60_000,
  });
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.match(got.forward, /^HeadgradError: out of memory allocating the output out \(32 elements, 128 bytes\)$/);
  assert.match(got.backward, /^HeadgradError: out of memory allocating the output dq \(32 elements, 128 bytes\)$/);
  assert.match(got.logits, /^HeadgradError: out of memory allocating the output logits \(88 elements, 352 bytes\)$/);
  assert.ok(Number.isFinite(got.loss), 'the model took the next call');
  assert.match(got.scores, /out of memory allocating the output headScores/);
  assert.match(got.generate, /out of memory allocating the output tokens/);
});

test.run();
