// One validation layer: lib/validate.ts refuses exactly what the addon refuses, with the same
// message (numbers printed as given), and the addon is loaded only on the first native call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { attentionForwardSync, GPT } from '../lib/index.js';
import { native } from '../lib/native.js';
import { describe, STEP_BOUNDS } from '../lib/validate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tiny = { vocabSize: 11, maxSeqLen: 8, layers: 1, heads: 2, dim: 8 };

// The error a call throws or rejects with (null if it returns or resolves).
async function errorOf(f: () => unknown): Promise<Error | null> {
  try {
    await f();
    return null;
  } catch (e) {
    return e as Error;
  }
}

test('model.step: every bound of STEP_BOUNDS is the addon bound, with the same message', async () => {
  const model = await GPT.create({ ...tiny, seed: 1 });
  const handle = await native.GPTModel.create({ ...tiny, seed: 1, device: 'cpu', precision: 'f32' });
  const bad: Record<string, unknown>[] = [
    { eps: 0 }, { eps: 2 }, { eps: NaN }, { lr: -1 }, { lr: 1e10 }, { lr: Infinity }, { lr: 'x' }, { lr: undefined },
    { beta1: 1 }, { beta1: -0.1 }, { beta2: 1 }, { weightDecay: -0.5 }, { gradClip: 1e31 }, { eps: 1e-31 },
  ];
  for (const extra of bad) {
    const o = { lr: 1e-3, ...extra } as never;
    const ts = await errorOf(() => model.step(o));
    const nat = await errorOf(() => handle.step(o));
    assert.ok(ts && nat, `${JSON.stringify(extra)} refused by both`);
    assert.is(ts!.message, nat!.message, `same message for ${describe(Object.values(extra)[0])}`);
    assert.is(ts!.constructor, nat!.constructor, 'same error class');
  }
  const tsEps = await errorOf(() => model.step({ lr: 1e-3, eps: 0 }));
  assert.is(tsEps!.message, 'step options.eps: expected a number in [1e-30, 1], got 0');
  // The bounds themselves pass both layers (and then meet "needs a backward").
  for (const [key, [lo, hi]] of Object.entries(STEP_BOUNDS)) {
    for (const v of [lo, hi]) {
      const o = { lr: 1e-3, [key]: v } as never;
      assert.match((await errorOf(() => model.step(o)))!.message, /needs a backward/, `${key}=${v} passes TS`);
      assert.match((await errorOf(() => handle.step(o)))!.message, /needs a backward/, `${key}=${v} passes the addon`);
    }
  }
  model.dispose();
  handle.dispose();
});

test('forward/generate and attention: the same refusals in both layers', async () => {
  const model = await GPT.create({ ...tiny, seed: 1 });
  const handle = await native.GPTModel.create({ ...tiny, seed: 1, device: 'cpu', precision: 'f32' });
  const t = new Int32Array(8);
  const forwards: [Int32Array, object][] = [
    [t, { batch: 0, seqLen: 8 }], [t, { batch: 1.5, seqLen: 8 }], [t, { batch: 1, seqLen: 9 }], [t, { batch: 1, seqLen: 0.5 }],
    [t, { batch: 1e10, seqLen: 1 }], [t, { batch: 1, seqLen: 8, returnLogits: 1 }],
  ];
  for (const [tokens, o] of forwards) {
    const ts = await errorOf(() => model.forward(tokens, o as never));
    const nat = await errorOf(() => handle.forward(tokens, o as never));
    assert.ok(ts && nat, JSON.stringify(o));
    assert.is(ts!.message, nat!.message);
  }
  for (const o of [{ maxNewTokens: 7 }, { maxNewTokens: 1, stopToken: 11 }, { maxNewTokens: -1 }]) {
    const ts = await errorOf(() => model.generate(Int32Array.from([1, 2]), o));
    const nat = await errorOf(() => handle.generate(Int32Array.from([1, 2]), o));
    assert.is(ts!.message, nat!.message);
  }
  const x = new Float32Array(16).fill(0.1);
  const good = { batch: 1, heads: 1, seqLen: 2, headDim: 8 };
  const opts = { causal: true, scale: 0.5, device: 'cpu' as const, precision: 'f32' as const };
  const shapes = [{ ...good, batch: 0 }, { ...good, heads: 2.5 }, { ...good, seqLen: 1e10 }, { ...good, headDim: 257 },
    { batch: 1e5, heads: 1e5, seqLen: 1, headDim: 1 }];
  for (const s of shapes) {
    const ts = await errorOf(() => attentionForwardSync(x, x, x, s, { device: 'cpu' }));
    const nat = await errorOf(() => native.attentionForwardSync(x, x, x, s, opts));
    assert.is(ts!.message, `attentionForwardSync: ${nat!.message}`);
  }
  for (const scale of [-1, 1e39, NaN]) {
    const ts = await errorOf(() => attentionForwardSync(x, x, x, good, { device: 'cpu', scale }));
    const nat = await errorOf(() => native.attentionForwardSync(x, x, x, good, { ...opts, scale }));
    assert.is(ts!.message, `attentionForwardSync: ${nat!.message}`);
    assert.is(ts!.constructor, nat!.constructor);
  }
  // scale 0 means 1/sqrt(headDim) in both.
  const zero = attentionForwardSync(x, x, x, good, { device: 'cpu', scale: 0 });
  const dflt = attentionForwardSync(x, x, x, good, { device: 'cpu' });
  assert.equal([...zero.out], [...dflt.out]);
  model.dispose();
  handle.dispose();
});

test('the addon loads lazily: import, decompose, statistics and reports work without it', () => {
  const script = `
    import * as hg from './lib/index.js';
    import { heatmap } from './lib/utils.js';
    const p = (v) => ({ layers: 2, heads: 3, values: Float64Array.from(v) });
    const d = hg.decompose(p([1, 2, 3, 4, 2, 7]), { a: p([1, 0, 1, 2, 0, 3]), b: p([0, 1, 1, 0, 1, 2]) },
      { method: 'nnls', intercept: false, permutations: 20 });
    const rho = hg.spearman([1, 2, 3], [1, 3, 2]);
    const svg = heatmap(p([1, 2, 3, 4, 5, 6]), { title: 't' });
    let err = '';
    try { hg.backendInfo(); } catch (e) { err = e.message; }
    console.log(JSON.stringify({ r2: d.r2, rho, svg: svg.startsWith('<svg'), err }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root, encoding: 'utf8', env: { ...process.env, HEADGRAD_ADDON: path.join(root, 'no-such-addon.node') }, timeout: 60_000,
  });
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.ok(Number.isFinite(got.r2));
  assert.is(got.rho, 0.5);
  assert.ok(got.svg);
  assert.match(got.err, /HEADGRAD_ADDON=.*no-such-addon\.node: no such file/);
});

test.run();
