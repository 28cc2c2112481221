import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { GPT } from '../lib/model.js';
import { sft } from '../lib/sft.js';
import { heldOutLoss } from '../lib/evaluate.js';
import { topK } from '../lib/patterns/metrics.js';
import { activationPattern } from '../lib/patterns/activation.js';
import { ablateHeads } from '../lib/patterns/ablation.js';
import { tinyModel, easyTask, easyCheck, tokenizer } from './helpers/tiny.js';

/** Records every gate vector the model is given. */
function spyGates(model: GPT): Float32Array[] {
  const calls: Float32Array[] = [];
  const set = model.setHeadGates.bind(model);
  model.setHeadGates = (g: Float32Array) => {
    calls.push(g.slice());
    set(g);
  };
  return calls;
}

const offHeads = (g: Float32Array) => [...g.keys()].filter((j) => g[j] === 0);

test('top-k and random draws gate off the right heads, then the gates are restored', async () => {
  using model = await tinyModel(31, { layers: 2, heads: 4, dim: 32 });
  const data = easyTask();
  const pattern = await activationPattern(model, data, { tokenizer });
  const lossBefore = await heldOutLoss(model, data, { tokenizer });
  const calls = spyGates(model);
  const r = await ablateHeads(model, data, pattern, { tokenizer, check: easyCheck, k: 3, draws: 4, seed: 9 });

  assert.is(r.k, 3);
  // each run sets its gates and restores the previous ones: baseline, top-k, 4 draws
  assert.equal(calls.length, 2 * (1 + 1 + 4));
  calls.filter((_, i) => i % 2 === 1).forEach((g) => assert.ok(g.every((x) => x === 1), 'restored after each run'));
  assert.equal(offHeads(calls[0]!), []);
  assert.equal(offHeads(calls[2]!), [...topK(pattern.values, 3)].sort((a, b) => a - b));
  assert.equal(r.topK.heads, topK(pattern.values, 3));
  assert.is(r.random.runs.length, 4);
  r.random.runs.forEach((run, d) => {
    assert.is(new Set(run.heads).size, 3);
    assert.equal(offHeads(calls[4 + 2 * d]!), [...run.heads].sort((a, b) => a - b));
  });
  assert.ok(calls.at(-1)!.every((g) => g === 1));
  assert.is(await heldOutLoss(model, data, { tokenizer }), lossBefore);

  const accs = r.random.runs.map((x) => x.accuracy);
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  const std = Math.sqrt(accs.reduce((a, x) => a + (x - mean) ** 2, 0) / (accs.length - 1));
  assert.ok(Math.abs(r.random.mean - mean) < 1e-12 && Math.abs(r.random.std - std) < 1e-12);

  const again = await ablateHeads(model, data, pattern, { tokenizer, check: easyCheck, k: 3, draws: 4, seed: 9 });
  assert.equal(again.random.runs.map((x) => x.heads), r.random.runs.map((x) => x.heads), 'seeded draws repeat');
});

test('ablation works on top of the gates in force and restores them', async () => {
  using model = await tinyModel(34, { layers: 2, heads: 4, dim: 32 });
  const data = easyTask();
  const pattern = await activationPattern(model, data, { tokenizer });
  const before = Float32Array.from({ length: 8 }, (_, j) => (j === 5 ? 0.5 : 1));
  model.setHeadGates(before);
  const calls = spyGates(model);
  const r = await ablateHeads(model, data, pattern, { tokenizer, check: easyCheck, k: 2, draws: 2, seed: 3 });
  const top = new Set(r.topK.heads);
  assert.equal(Array.from(calls[2]!), Array.from(before, (g, j) => (top.has(j) ? 0 : g)));
  assert.equal(Array.from(model.headGates()), Array.from(before));
  assert.equal(Array.from(calls.at(-1)!), Array.from(before));
});

test('ablating every head of a trained model destroys a task that needs attention', async () => {
  using model = await tinyModel(32);
  const data = easyTask();
  await sft(model, data, { tokenizer, steps: 150, batchSize: 9, lr: 1e-2, warmupSteps: 10, seed: 1, progress: false });
  const pattern = await activationPattern(model, data, { tokenizer });
  const n = model.config.layers * model.config.heads;
  const r = await ablateHeads(model, data, pattern, { tokenizer, check: easyCheck, k: n, draws: 1 });
  assert.ok(r.baseline >= 0.9, `baseline ${r.baseline}`);
  assert.ok(r.topK.accuracy < 0.3, `with every head off: ${r.topK.accuracy}`);
  assert.is(r.random.std, 0);
});

test('gates are restored when a run fails', async () => {
  using model = await tinyModel(33);
  const data = easyTask();
  const pattern = await activationPattern(model, data, { tokenizer });
  const lossBefore = await heldOutLoss(model, data, { tokenizer });
  const calls = spyGates(model);
  let checked = 0;
  const failing = (p: string, o: string) => {
    if (++checked > data.length + 2) throw new Error('checker failed');
    return easyCheck(p, o);
  };
  await ablateHeads(model, data, pattern, { tokenizer, check: failing, k: 2 }).then(
    () => assert.unreachable('the failure was swallowed'),
    (e) => assert.match(e.message, /checker failed/),
  );
  assert.ok(offHeads(calls.at(-2)!).length === 2, 'failed during the top-k run');
  assert.ok(calls.at(-1)!.every((g) => g === 1));
  assert.is(await heldOutLoss(model, data, { tokenizer }), lossBefore);
});

test('bad arguments give clear errors', async () => {
  using model = await tinyModel(34);
  const data = easyTask();
  const pattern = await activationPattern(model, data.slice(0, 2), { tokenizer });
  const opts = { tokenizer, check: easyCheck, k: 2 };
  const cases: [() => Promise<unknown>, RegExp][] = [
    [() => ablateHeads(model, data, pattern, { ...opts, k: 0 }), /k must be an integer in \[1, 4\], got 0/],
    [() => ablateHeads(model, data, pattern, { ...opts, k: 5 }), /k must be an integer in \[1, 4\], got 5/],
    [() => ablateHeads(model, data, pattern, { ...opts, draws: 0 }), /draws must be a positive integer/],
    [() => ablateHeads(model, [], pattern, opts), /samples must not be empty/],
    [() => ablateHeads(model, data, { layers: 4, heads: 1, values: new Float64Array(4) }, opts), /pattern is 4x1 \(layers x heads\), the model 2x2/],
  ];
  for (const [run, re] of cases) {
    await run().then(() => assert.unreachable(`accepted: ${re}`), (e) => assert.match(e.message, re));
  }
});

test.run();
