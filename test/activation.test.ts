import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { GPT } from '../lib/model.js';
import { makeBatch } from '../lib/data/batch.js';
import type { Sample } from '../lib/data/sample.js';
import { activationPattern, modelHash, dataHash } from '../lib/patterns/activation.js';
import { Rng } from '../lib/util/random.js';
import { maxRelError } from './helpers/compare.js';
import { randomReferenceParameters, referenceGateGradients } from './helpers/reference_model.js';
import { tinyModel, variedSamples, tokenizer } from './helpers/tiny.js';
import { testSeed } from './helpers/seed.js';
import { within } from './helpers/compare.js';

const SEED = testSeed('activation');

const close = (a: number, b: number, rel: number, abs: number) => Math.abs(a - b) <= abs + rel * Math.max(Math.abs(a), Math.abs(b));

/** L(x) for one sample: mean cross-entropy over its response tokens + eos. */
async function sampleLoss(model: GPT, s: Sample): Promise<number> {
  const b = makeBatch([s], tokenizer, { maxSeqLen: model.config.maxSeqLen, weighting: 'sample' });
  return (await model.forward(b.tokens, { batch: 1, seqLen: b.seqLen, targets: b.targets, lossWeights: b.lossWeights })).loss;
}

// One sample's sequence, built here from the byte tokenizer's definition (not by makeBatch):
// prompt bytes · <|sep|> 258 · response bytes · <|eos|> 257; inputs drop the last token,
// targets the first, and each response token and the eos weighs 1/(their count).
function encodeByHand(s: Sample): { tokens: number[]; targets: number[]; weights: number[] } {
  const bytes = (x: string) => [...Buffer.from(x, 'utf8')];
  const prompt = [...bytes(s.prompt), 258];
  const seq = [...prompt, ...bytes(s.response), 257];
  const R = seq.length - prompt.length;
  return { tokens: seq.slice(0, -1), targets: seq.slice(1), weights: seq.slice(1).map((_, t) => (t >= prompt.length - 1 ? 1 / R : 0)) };
}

test('the AP equals the mean |∂L(x)/∂ξ| of an independent float64 model, at batch sizes 1 and 4', async () => {
  using model = await tinyModel(21, { layers: 3, heads: 2, dim: 16 });
  const rng = new Rng(SEED + 21);
  // parameters far from the 0.02 init, so the scores are large and differ between heads
  model.importParametersSync(randomReferenceParameters(model.config, rng));
  const params = model.exportParametersSync();
  const samples = variedSamples(9);
  const want = new Float64Array(6), wantSigned = new Float64Array(6);
  for (const s of samples) {
    const { tokens, targets, weights } = encodeByHand(s);
    const g = referenceGateGradients(model.config, params, tokens, 1, tokens.length, { targets, lossWeights: weights });
    for (let j = 0; j < 6; j++) {
      want[j] += Math.abs(g[j]!) / samples.length;
      wantSigned[j] += g[j]! / samples.length;
    }
  }
  const scale = Math.max(...want);
  assert.ok(Math.min(...want) > 1e-3 * scale && scale > 1e-2, `reference AP ${Array.from(want)}: too small to compare`);
  for (const batchSize of [1, 4]) {
    const ap = await activationPattern(model, samples, { tokenizer, batchSize });
    assert.is(ap.layers, 3);
    assert.is(ap.heads, 2);
    assert.is(ap.samples, 9);
    assert.ok(maxRelError(ap.values, want, 0) < 1e-4, `batch ${batchSize}: AP ${Array.from(ap.values)} vs reference ${Array.from(want)}`);
    assert.ok(maxRelError(ap.signed, wantSigned, 0) < 1e-4, `batch ${batchSize}: signed ${Array.from(ap.signed)} vs reference ${Array.from(wantSigned)}`);
  }
});

test('batch size does not change the pattern (1 vs 7 vs all)', async () => {
  using model = await tinyModel(22);
  const samples = variedSamples(11);
  const p1 = await activationPattern(model, samples, { tokenizer, batchSize: 1 });
  const p7 = await activationPattern(model, samples, { tokenizer, batchSize: 7 });
  const pAll = await activationPattern(model, samples, { tokenizer, batchSize: 11 });
  for (let j = 0; j < p1.values.length; j++) {
    for (const p of [p7, pAll]) {
      assert.ok(close(p.values[j]!, p1.values[j]!, 1e-4, 1e-7), `values[${j}]: ${p.values[j]} vs ${p1.values[j]}`);
      assert.ok(close(p.signed[j]!, p1.signed[j]!, 1e-4, 1e-7), `signed[${j}]: ${p.signed[j]} vs ${p1.signed[j]}`);
    }
  }
});

test('the per-sample score equals a central finite difference of L(x) in the head gate', async () => {
  using model = await tinyModel(23, { layers: 2, heads: 3, dim: 24 });
  model.importParametersSync(randomReferenceParameters(model.config, new Rng(SEED + 23))); // scores ~1e-2 and up, not ~1e-4 as at init
  const { layers, heads } = model.config;
  // Central differences at eps and eps/2, combined by Richardson extrapolation, (4·fd(eps/2) − fd(eps))/3:
  // the eps² truncation term cancels (at eps alone it reached 1.2% of a score at seed 85, over the 1%
  // bound), leaving eps⁴ terms ~1e-4 of the score. eps stays large so that f32 rounding of the loss
  // (δ ~ 1e-7·L) adds at most 3δ/eps ~ 4e-5 to the extrapolation. The bound: 1% of |fd| + 1e-3.
  const eps = 3e-2;
  const fdAt = async (s: { prompt: string; response: string }, j: number, h: number) => {
    const gates = new Float32Array(layers * heads).fill(1);
    gates[j] = 1 + h;
    model.setHeadGates(gates);
    const up = await sampleLoss(model, s);
    gates[j] = 1 - h;
    model.setHeadGates(gates);
    const down = await sampleLoss(model, s);
    model.setHeadGates(new Float32Array(layers * heads).fill(1));
    return (up - down) / (2 * h);
  };
  for (const s of variedSamples(3)) {
    const ap = await activationPattern(model, [s], { tokenizer });
    // the three heads with the largest |score|: a head whose score is ~0 would make the check
    // vacuous (the absolute slack alone would pass), so such heads are not the ones compared
    const order = Array.from({ length: layers * heads }, (_, j) => j).sort((a, b) => Math.abs(ap.signed[b]!) - Math.abs(ap.signed[a]!));
    assert.ok(Math.abs(ap.signed[order[0]!]!) > 1e-3, `every score of ${JSON.stringify(s)} is ~0: the check would be vacuous`);
    for (const j of order.slice(0, 3)) {
      const fd = (4 * (await fdAt(s, j, eps / 2)) - (await fdAt(s, j, eps))) / 3;
      within('activation: per-sample score vs Richardson central difference in the gate, relative', Math.abs(ap.signed[j]! - fd) / (Math.abs(fd) + 1e-3), 1e-2,
        `head ${j} on ${JSON.stringify(s)}: score ${ap.signed[j]} vs finite difference ${fd}`);
    }
  }
});

test('extraction never updates the model', async () => {
  using model = await tinyModel(24);
  const before = model.exportParametersSync();
  const samples = variedSamples(5);
  const a = await activationPattern(model, samples, { tokenizer, batchSize: 2 });
  const b = await activationPattern(model, samples, { tokenizer, batchSize: 2 });
  assert.equal(model.exportParametersSync(), before);
  assert.equal(a.values, b.values);
});

test('provenance hashes follow the parameters and the sample texts', async () => {
  using m1 = await tinyModel(25);
  using m2 = await tinyModel(25);
  using m3 = await tinyModel(26);
  assert.match(modelHash(m1), /^[0-9a-f]{64}$/);
  assert.is(modelHash(m1), modelHash(m2));
  assert.is.not(modelHash(m1), modelHash(m3));
  const s = variedSamples(4);
  assert.is(dataHash(s), dataHash(variedSamples(4)));
  assert.is.not(dataHash(s), dataHash(s.slice(0, 3)));
  // field boundaries matter: ("ab","c") is not ("a","bc")
  assert.is.not(dataHash([{ prompt: 'ab', response: 'c' }]), dataHash([{ prompt: 'a', response: 'bc' }]));
});

test('bad arguments give clear errors', async () => {
  using model = await tinyModel(27);
  await activationPattern(model, [], { tokenizer }).then(
    () => assert.unreachable('accepted no samples'),
    (e) => assert.match(e.message, /samples must not be empty/),
  );
  await activationPattern(model, variedSamples(2), { tokenizer, batchSize: 0 }).then(
    () => assert.unreachable('accepted batchSize 0'),
    (e) => assert.match(e.message, /batchSize must be a positive integer, got 0/),
  );
});

test.run();
