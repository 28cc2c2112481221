// The scores-only backward (forward/backward with { scoresOnly: true }): its head scores and
// loss equal the full pass's, no weight gradient is formed, and step()/exportGradients() refuse.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GPT, parameterLayout, type GPTConfig } from '../lib/index.js';
import { Rng } from '../lib/util/random.js';
import { rejects } from './helpers/rejects.js';
import { testSeed } from './helpers/seed.js';
import { within } from './helpers/compare.js';

const SEED = testSeed('scores-only');

interface Case { name: string; cfg: GPTConfig; batch: number; seqLen: number; prompt: number; weighted: boolean }
const cases: Case[] = [
  { name: 'tiny, every position a target', cfg: { vocabSize: 11, maxSeqLen: 8, layers: 2, heads: 2, dim: 8 }, batch: 2, seqLen: 5, prompt: 0, weighted: false },
  { name: 'tiny, prompt masked, lossWeights', cfg: { vocabSize: 11, maxSeqLen: 8, layers: 2, heads: 2, dim: 8 }, batch: 3, seqLen: 7, prompt: 3, weighted: true },
  { name: 'odd sizes, T=1', cfg: { vocabSize: 37, maxSeqLen: 4, layers: 1, heads: 3, dim: 12 }, batch: 2, seqLen: 1, prompt: 0, weighted: false },
  { name: 'several gemm tiles, prompt masked', cfg: { vocabSize: 301, maxSeqLen: 40, layers: 3, heads: 4, dim: 48 }, batch: 3, seqLen: 33, prompt: 13, weighted: true },
  // more than the 64 target rows the scores-only LM head takes at a time (native/core/gpt.cpp kLogitChunk)
  { name: 'target rows in three chunks', cfg: { vocabSize: 301, maxSeqLen: 64, layers: 2, heads: 4, dim: 32 }, batch: 3, seqLen: 60, prompt: 7, weighted: true },
  // the Llama block with a Q/K norm (whose backward reads the raw q/k/v projection) and post norms;
  // 3 layers, so that a layer's Q/K norm backward feeds the scores of a layer below the one above it
  { name: 'llama block, qk norm, post norms', cfg: { vocabSize: 97, maxSeqLen: 24, layers: 3, heads: 4, kvHeads: 2, dim: 32, ffnDim: 40,
    norm: 'rmsnorm', positions: 'rope', mlp: 'swiglu', qkvBias: true, linearBias: false, tiedEmbeddings: false, qkNorm: 'head', normPlacement: 'both' },
  batch: 2, seqLen: 17, prompt: 4, weighted: false },
  { name: 'llama block, projection qk norm', cfg: { vocabSize: 97, maxSeqLen: 24, layers: 3, heads: 4, kvHeads: 2, dim: 32, ffnDim: 40,
    norm: 'rmsnorm', positions: 'rope', mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: true, qkNorm: 'projection' },
  batch: 2, seqLen: 9, prompt: 2, weighted: true },
];

function randomParameters(cfg: GPTConfig, rng: Rng): Float32Array {
  const layout = parameterLayout(cfg);
  const p = new Float32Array(layout.at(-1)!.offset + layout.at(-1)!.size);
  for (const t of layout) {
    const ln = ['ln1w', 'ln2w', 'lnfw', 'qnw', 'knw', 'postattnw', 'postffnw'].includes(t.name);
    for (let i = 0; i < t.size; i++) p[t.offset + i] = (ln ? 1 : 0) + 0.3 * rng.normal();
  }
  return p;
}

async function setup(c: Case, seed: number) {
  const rng = new Rng(seed);
  const model = await GPT.create({ ...c.cfg, device: 'cpu', seed });
  model.importParametersSync(randomParameters(c.cfg, rng));
  const n = c.batch * c.seqLen;
  const tokens = Int32Array.from({ length: n }, () => rng.int(c.cfg.vocabSize));
  // Sample rows: the first `prompt` positions have no target (as SFT masks the prompt), and a
  // random one more in the middle.
  const targets = Int32Array.from({ length: n }, (_, i) => (i % c.seqLen < c.prompt ? -1 : rng.int(c.cfg.vocabSize)));
  if (n > 4) targets[Math.floor(n / 2)] = -1;
  const lossWeights = c.weighted ? Float32Array.from({ length: n }, () => 0.05 + 0.2 * rng.next()) : undefined;
  return { model, tokens, targets, lossWeights };
}

function close(got: Float32Array, want: Float32Array, what: string): void {
  assert.is(got.length, want.length);
  let scale = 0;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-6 * Math.max(Math.abs(want[i]!), 1e-3 * scale);
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) assert.unreachable(`${what}[${i}]: scores-only ${got[i]}, full ${want[i]}`);
  }
}

for (const c of cases) {
  test(`scores-only head scores and loss equal the full backward's (${c.name})`, async () => {
    const { model, tokens, targets, lossWeights } = await setup(c, (SEED + 7) >>> 0);
    const o = { batch: c.batch, seqLen: c.seqLen, targets, lossWeights };
    // scores-only first: the model plans the smaller scores-only arena, then re-plans for the full pass
    const fast = await model.forward(tokens, { ...o, scoresOnly: true });
    const fastScores = (await model.backward({ scoresOnly: true })).headScores;
    const full = await model.forward(tokens, o);
    const fullScores = (await model.backward()).headScores;
    within(`scores-only: loss vs the full pass, relative (${c.name})`, Math.abs(fast.loss - full.loss) / Math.abs(full.loss), 1e-6, `loss ${fast.loss} vs ${full.loss}`);
    close(fastScores, fullScores, 'headScores');
    // A full forward followed by a scores-only backward gives them too.
    await model.forward(tokens, o);
    close((await model.backward({ scoresOnly: true })).headScores, fullScores, 'headScores (full forward)');
    // A scores-only pass on the full arena computes exactly what it did on its own one.
    const again = await model.forward(tokens, { ...o, scoresOnly: true });
    assert.is(again.loss, fast.loss);
    assert.equal((await model.backward({ scoresOnly: true })).headScores, fastScores);
    let nonzero = 0;
    for (const s of fullScores) nonzero += s !== 0 ? 1 : 0;
    assert.ok(nonzero > fullScores.length / 2, 'the scores compared are mostly non-zero');
    model.dispose();
  });
}

test('after a scores-only backward, step() and exportGradients() refuse; a full pass restores them', async () => {
  const c = cases[1]!;
  const { model, tokens, targets } = await setup(c, (SEED + 3) >>> 0);
  const o = { batch: c.batch, seqLen: c.seqLen, targets };
  await model.forward(tokens, o);
  await model.backward({ scoresOnly: true });
  await rejects(model.step({ lr: 1e-3 }), /scoresOnly/);
  assert.throws(() => model.exportGradients(), /scoresOnly/);
  const before = model.exportParametersSync();
  assert.equal(model.exportParametersSync(), before, 'the refused step changed nothing');
  await model.forward(tokens, o);
  await model.backward();
  await model.step({ lr: 1e-3 });
  assert.not.equal(model.exportParametersSync(), before);
  model.dispose();
});

test('scores-only passes: bad combinations give clear errors', async () => {
  const c = cases[0]!;
  const { model, tokens, targets } = await setup(c, (SEED + 5) >>> 0);
  const o = { batch: c.batch, seqLen: c.seqLen, targets };
  await rejects(model.forward(tokens, { batch: c.batch, seqLen: c.seqLen, scoresOnly: true }), /scoresOnly: needs targets/);
  await rejects(model.forward(tokens, { ...o, scoresOnly: true, returnLogits: true }), /scoresOnly: needs targets and cannot return logits/);
  await rejects(model.forward(tokens, { ...o, scoresOnly: 1 as unknown as boolean }), /forward options.scoresOnly: expected a boolean/);
  await model.forward(tokens, { ...o, scoresOnly: true });
  await rejects(model.backward(), /forward\(\) was scoresOnly/);
  await rejects(model.backward({ scoresOnly: 'yes' as unknown as boolean }), /backward options.scoresOnly: expected a boolean/);
  // No target at all: loss 0 and zero scores, no error.
  const none = new Int32Array(targets.length).fill(-1);
  const r = await model.forward(tokens, { ...o, targets: none, scoresOnly: true });
  assert.is(r.loss, 0);
  const s = (await model.backward({ scoresOnly: true })).headScores;
  assert.ok(s.every((x) => x === 0));
  model.dispose();
});

test.run();
