import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GPT } from '../lib/model.js';
import { parameterLayout } from '../lib/checkpoint/layout.js';
import type { GPTConfig } from '../lib/checkpoint/layout.js';
import { sft, learningRate, relativeChange } from '../lib/sft.js';
import { exactMatchAccuracy, heldOutLoss } from '../lib/evaluate.js';
import { tinyModel, easyTask, easyCheck, tokenizer } from './helpers/tiny.js';
import { withTempDir } from './helpers/temp_dir.js';
import { referenceForward } from './helpers/reference_model.js';
import { testSeed } from './helpers/seed.js';
import { Rng } from '../lib/util/random.js';

test('learningRate: linear warmup, cosine decay that lands on the floor at the last step', () => {
  const o = { lr: 1e-3, steps: 110, warmupSteps: 10, minLr: 1e-4 };
  assert.ok(Math.abs(learningRate(0, o) - 1e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(4, o) - 5e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(10, o) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRate(109, o) - 1e-4) < 1e-12);
  // halfway through the decay the cosine is at the midpoint
  assert.ok(Math.abs(learningRate(10 + 99 / 2, o) - 5.5e-4) < 1e-12);
  for (let s = 10; s < 109; s++) assert.ok(learningRate(s + 1, o) < learningRate(s, o), `not decreasing at ${s}`);
  assert.is(learningRate(0, { lr: 2e-3, steps: 1 }), 2e-3);
  assert.ok(Math.abs(learningRate(9, { lr: 2e-3, steps: 10 }) - 2e-4) < 1e-15, 'default floor is lr/10');
});

test('relativeChange is ‖a − b‖ / ‖b‖', () => {
  assert.ok(Math.abs(relativeChange(Float32Array.of(3, 4), Float32Array.of(0, 4)) - 0.75) < 1e-12);
  assert.is(relativeChange(Float32Array.of(1, 2), Float32Array.of(1, 2)), 0);
});

test('sft lowers the loss and raises exact-match accuracy on an easy task it can memorise', async () => {
  using model = await tinyModel(3);
  const data = easyTask();
  const h = await sft(model, data, {
    tokenizer, steps: 150, batchSize: 9, lr: 1e-2, warmupSteps: 10, seed: 1, progress: false,
    eval: { data, every: 50, check: easyCheck },
  });
  const first = h.evals[0]!;
  const last = h.evals.at(-1)!;
  assert.is(first.step, 0);
  assert.is(last.step, 150);
  assert.ok(last.loss < 0.3 * first.loss, `loss ${first.loss} -> ${last.loss}`);
  assert.ok(first.accuracy! < 0.2, `base accuracy ${first.accuracy}`);
  assert.ok(last.accuracy! >= 0.9, `accuracy after sft ${last.accuracy}`);
});

test('evaluation: a memorised answer scores 1, a prompt longer than the context is cut from the left', async () => {
  using model = await tinyModel(4);
  const data = easyTask().slice(0, 4);
  await sft(model, data, { tokenizer, steps: 60, batchSize: 4, lr: 1e-2, progress: false });
  assert.is(await exactMatchAccuracy(model, data, { tokenizer, check: easyCheck }), 1);
  assert.is(await exactMatchAccuracy(model, data, { tokenizer, check: () => false }), 0);
  // The same prompts behind 40 bytes of noise. Generation of a 2-letter answer (+ eos: 3 new
  // tokens) in a 16-token context keeps the last 13 prompt tokens: 10 'z', the 2 letters, the
  // separator. The loss's inputs (prompt · sep · 2 letters · eos, minus the last) keep 11 'z'.
  const long = data.map((s) => ({ ...s, prompt: 'z'.repeat(40) + s.prompt }));
  const cut = (n: number) => data.map((s) => ({ ...s, prompt: 'z'.repeat(n) + s.prompt }));
  const seen: number[][] = [];
  const outputs = (into: string[]) => (p: string, o: string) => { into.push(o); return easyCheck(p.slice(-2), o); };
  const generate = model.generate.bind(model);
  model.generate = (prompt, o) => { seen.push(Array.from(prompt)); return generate(prompt, o); };
  const [fromLong, fromCut]: string[][] = [[], []];
  const acc = await exactMatchAccuracy(model, long, { tokenizer, check: outputs(fromLong) });
  assert.equal(seen, data.map((s) => [...'z'.repeat(10) + s.prompt].map((ch) => ch.charCodeAt(0)).concat(Array.from(tokenizer.separator))));
  assert.is(await exactMatchAccuracy(model, cut(10), { tokenizer, check: outputs(fromCut) }), acc);
  assert.equal(fromLong, fromCut);
  assert.is(await heldOutLoss(model, long, { tokenizer }), await heldOutLoss(model, cut(11), { tokenizer }));
  assert.is.not(await heldOutLoss(model, long, { tokenizer }), await heldOutLoss(model, cut(10), { tokenizer }));
});

// Flat indices of the parameters that head-targeted SFT may change (README, trainableHeads): the
// Q/K/V rows (weights and biases) and attprojw columns of the chosen heads, plus the MLP if asked.
function trainableIndices(cfg: GPTConfig, mask: Uint8Array, mlp: boolean): Set<number> {
  const C = cfg.dim;
  const hs = C / cfg.heads;
  const t = Object.fromEntries(parameterLayout(cfg).map((p) => [p.name, p]));
  const out = new Set<number>();
  for (let l = 0; l < cfg.layers; l++) {
    for (let h = 0; h < cfg.heads; h++) {
      if (!mask[l * cfg.heads + h]) continue;
      for (let part = 0; part < 3; part++) {
        for (let i = 0; i < hs; i++) {
          const row = part * C + h * hs + i;
          for (let c = 0; c < C; c++) out.add(t.qkvw!.offset + (l * 3 * C + row) * C + c);
          out.add(t.qkvb!.offset + l * 3 * C + row);
        }
      }
      for (let r = 0; r < C; r++) for (let i = 0; i < hs; i++) out.add(t.attprojw!.offset + (l * C + r) * C + h * hs + i);
    }
    if (mlp) {
      for (const name of ['fcw', 'fcb', 'fcprojw', 'fcprojb']) {
        const p = t[name]!;
        const per = p.size / cfg.layers;
        for (let i = 0; i < per; i++) out.add(p.offset + l * per + i);
      }
    }
  }
  return out;
}

for (const mode of ['heads', 'heads+mlp'] as const) {
  test(`sft mode '${mode}' changes only the chosen heads' slices${mode === 'heads+mlp' ? ' and the MLPs' : ''}`, async () => {
    using model = await tinyModel(5, { layers: 2, heads: 3, dim: 24 });
    const mask = Uint8Array.from([0, 1, 0, 1, 0, 0]); // layer 0 head 1, layer 1 head 0
    const before = model.exportParametersSync();
    await sft(model, easyTask(), { tokenizer, steps: 3, batchSize: 4, lr: 1e-2, mode, trainableHeads: mask, progress: false });
    const after = model.exportParametersSync();
    const allowed = trainableIndices(model.config, mask, mode === 'heads+mlp');
    let changedAllowed = 0;
    for (let i = 0; i < before.length; i++) {
      if (allowed.has(i)) changedAllowed += before[i] !== after[i] ? 1 : 0;
      else if (before[i] !== after[i]) assert.unreachable(`parameter ${i} outside the chosen heads changed`);
    }
    assert.ok(changedAllowed > allowed.size / 2, `only ${changedAllowed} of ${allowed.size} trainable values moved`);
  });
}

test('history: steps, lr schedule, evals, pattern snapshots, weight change, checkpoint and callbacks', async () => {
  await withTempDir('sft', async (dir) => {
    using model = await tinyModel(7);
    const data = easyTask();
    const ckpt = path.join(dir, 'model.safetensors');
    const seen: number[] = [];
    const evalSteps: number[] = [];
    const savedBefore: boolean[] = []; // did the checkpoint exist when step i's callback ran?
    const opts = { tokenizer, steps: 10, batchSize: 4, lr: 5e-3, warmupSteps: 2, seed: 2 };
    const h = await sft(model, data, {
      ...opts, progress: false,
      eval: { data: data.slice(0, 5), every: 4, check: easyCheck },
      snapshots: { probe: data.slice(0, 6), every: 5 },
      checkpoint: { path: ckpt, every: 4 },
      onStep: (s) => {
        seen.push(s.step);
        savedBefore.push(existsSync(ckpt));
      },
      onEval: (e) => evalSteps.push(e.step),
    });
    assert.equal(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(h.steps.map((s) => s.step), seen);
    h.steps.forEach((s, i) => {
      assert.ok(Number.isFinite(s.loss) && s.loss > 0);
      assert.is(s.lr, learningRate(i, opts));
    });
    assert.equal(h.evals.map((e) => e.step), [0, 4, 8, 10]);
    assert.equal(evalSteps, [0, 4, 8, 10]);
    for (const e of h.evals) assert.ok(e.accuracy! >= 0 && e.accuracy! <= 1 && Number.isFinite(e.loss));
    assert.equal(h.snapshots.map((s) => s.step), [0, 5, 10]);
    for (const s of h.snapshots) {
      assert.is(s.pattern.values.length, 4);
      assert.is(s.pattern.samples, 6);
      assert.ok(s.pattern.values.every((v) => Number.isFinite(v) && v >= 0));
    }
    assert.is(h.snapshots[0]!.weightChange, 0);
    assert.ok(h.snapshots[1]!.weightChange > 0 && h.snapshots[2]!.weightChange > h.snapshots[1]!.weightChange);
    assert.ok(h.wallSeconds > 0 && h.tokens > 0);
    assert.ok(h.tokensPerSecond > h.tokens / h.wallSeconds, 'throughput excludes evaluation time');

    assert.equal(savedBefore, [false, false, false, false, true, true, true, true, true, true], 'first save after step 4');
    using saved = await GPT.load(ckpt);
    assert.equal(saved.exportParametersSync(), model.exportParametersSync());
  });
});

test('the same seed gives the same run; another seed another batch order', async () => {
  const run = async (seed: number) => {
    using model = await tinyModel(11);
    const h = await sft(model, easyTask(), { tokenizer, steps: 4, batchSize: 5, lr: 1e-2, seed, progress: false });
    return h.steps.map((s) => s.loss);
  };
  const a = await run(1);
  assert.equal(await run(1), a);
  assert.not.equal(await run(2), a);
});

test('the progress bar goes to stderr, never to stdout', async () => {
  using model = await tinyModel(13);
  const written = { out: 0, err: 0 };
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((written.out += chunk.length), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((written.err += chunk.length), true)) as typeof process.stderr.write;
  try {
    await sft(model, easyTask(), { tokenizer, steps: 3, batchSize: 4, lr: 1e-3, progress: true });
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  assert.is(written.out, 0);
  assert.ok(written.err > 0);
});

test('bad options are rejected before training, naming the option', async () => {
  using model = await tinyModel(17);
  const before = model.exportParametersSync();
  const base = { tokenizer, steps: 2, lr: 1e-3, progress: false };
  const cases: [object, RegExp][] = [
    [{ steps: 0 }, /steps must be a positive integer, got 0/],
    [{ lr: -1 }, /lr must be a finite number > 0, got -1/],
    [{ lr: NaN }, /lr must be a finite number > 0/],
    [{ batchSize: 1.5 }, /batchSize must be a positive integer, got 1.5/],
    [{ minLr: 1 }, /minLr must be in \[0, lr\]/],
    [{ warmupSteps: 5 }, /warmupSteps must be an integer in \[0, steps\]/],
    [{ mode: 'attention' }, /mode must be 'full', 'heads' or 'heads\+mlp'/],
    [{ mode: 'heads' }, /needs trainableHeads, a Uint8Array of layers\*heads = 4/],
    [{ mode: 'heads', trainableHeads: new Uint8Array(3) }, /needs trainableHeads/],
    [{ mode: 'heads', trainableHeads: new Uint8Array(4) }, /selects no head/],
    [{ trainableHeads: new Uint8Array(4).fill(1) }, /only used with mode/],
    [{ eval: { data: [], every: 1 } }, /eval.data must not be empty/],
    [{ snapshots: { probe: easyTask(), every: 0 } }, /snapshots.every must be a positive integer/],
  ];
  for (const [extra, re] of cases) {
    try {
      await sft(model, easyTask(), { ...base, ...extra } as never);
      assert.unreachable(`accepted ${JSON.stringify(extra)}`);
    } catch (e) {
      assert.match((e as Error).message, re);
    }
  }
  const long = [...easyTask(), { prompt: 'a', response: 'x'.repeat(16) }];
  await sft(model, long, base).then(() => assert.unreachable('accepted a response longer than the context'),
    (e) => assert.match(e.message, /data\[18\]: separator \+ response need 17 tokens, more than the model's maxSeqLen 16/));
  await sft(model, [], base).then(() => assert.unreachable('accepted empty data'), (e) => assert.match(e.message, /at least one sample/));
  assert.equal(model.exportParametersSync(), before);
});

// {text} documents (make-model's phase 2): the loss is each document's mean next-token
// cross-entropy over text[1..] + eos, averaged over documents, with no separator anywhere; here
// against the float64 reference model fed the same layout built by hand.
test('sft on {text} documents: the loss matches the float64 reference on that layout and falls; bad documents fail before training', async () => {
  const r = new Rng(testSeed('sft') + 5);
  using model = await tinyModel(23);
  const docs = Array.from({ length: 7 }, () => ({ text: Array.from({ length: 1 + r.int(15) }, () => String.fromCharCode(97 + r.int(6))).join('') }));
  const reference = () => {
    const params = model.exportParametersSync();
    let sum = 0;
    for (const { text } of docs) {
      const seq = [...tokenizer.encode(text), tokenizer.eos];
      const T = seq.length - 1;
      sum += referenceForward(model.config, params, seq.slice(0, T), 1, T, { targets: seq.slice(1) }).loss;
    }
    return sum / docs.length;
  };
  const before = await heldOutLoss(model, docs, { tokenizer, batchSize: 3 });
  assert.ok(Math.abs(before - reference()) < 1e-4 * reference(), `engine ${before}, reference ${reference()}`);
  await sft(model, docs, { tokenizer, steps: 40, batchSize: 7, lr: 1e-2, progress: false });
  const after = await heldOutLoss(model, docs, { tokenizer });
  assert.ok(Math.abs(after - reference()) < 1e-4 * reference(), `engine ${after}, reference ${reference()}`);
  assert.ok(after < 0.7 * before, `loss ${before} -> ${after}`);

  const params = model.exportParametersSync();
  const base = { tokenizer, steps: 2, lr: 1e-3, progress: false };
  await sft(model, [...docs, { text: 'x'.repeat(17) }], base).then(() => assert.unreachable('accepted a document longer than the context'),
    (e) => assert.match(e.message, /data\[7\]: text \+ eos need 17 tokens, more than the model's maxSeqLen 16/));
  await sft(model, [...docs, { text: '' }], base).then(() => assert.unreachable('accepted an empty document'),
    (e) => assert.match(e.message, /samples\[7\]\.text: expected a non-empty document/));
  await exactMatchAccuracy(model, docs, { tokenizer, check: () => true }).then(() => assert.unreachable('scored a document'),
    (e) => assert.match(e.message, /a \{text\} document has no question and answer/));
  assert.equal(model.exportParametersSync(), params);
});

test('exactMatchAccuracy: an answer with an id past the tokenizer (a padded embedding row) is wrong, not a decode error', async () => {
  // A stand-in model whose greedy answer is the right text followed by a row the tokenizer lacks,
  // as a Qwen model with 151,936 rows for 151,669 tokens can produce.
  const sample = { prompt: 'ab', response: 'ab' };
  const right = Int32Array.from(tokenizer.encode('ab'));
  const fake = (ids: Int32Array) => ({ config: { maxSeqLen: 64 }, generate: async () => ids }) as unknown as GPT;
  const check = (_q: string, a: string) => a === 'ab';
  assert.is(await exactMatchAccuracy(fake(right), [sample], { tokenizer, check }), 1);
  const padded = Int32Array.from([...right, tokenizer.vocabSize + 3]);
  assert.is(await exactMatchAccuracy(fake(padded), [sample], { tokenizer, check }), 0);
});

test.run();
