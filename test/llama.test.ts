// Llama-family models through the engine, against the independent float64 whole-model
// reference (helpers/reference_model.ts): a tiny random Llama (multi-head), a Llama-3-style
// model (grouped-query attention, llama3 rope scaling, untied LM head) and a Qwen2-style model
// (q/k/v biases, tied head), built with GPT.create and filled through importParameterRange.
// Per model: logits, loss and per-head gate gradients within f32 rounding, every parameter
// gradient against central differences of the float64 loss, greedy generation against the
// reference's argmax decoding, scores-only passes, and head-targeted training under
// grouped-query attention.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backendInfo, GPT, parameterLayout, parameterCount, validateConfig, type GPTConfig } from '../lib/index.js';
import { Rng } from '../lib/util/random.js';
import { maxRelError, within } from './helpers/compare.js';
import { randomReferenceParameters, referenceForward, referenceGateGradients, referenceLayout } from './helpers/reference_model.js';
import { checkGreedy } from './helpers/greedy.js';
import { rejects } from './helpers/rejects.js';
import { testSeed } from './helpers/seed.js';
import { sampledCentralDifferences } from './helpers/finite_difference.js';

const rng = new Rng(testSeed('llama'));
const ints = (n: number, hi: number) => Int32Array.from({ length: n }, () => rng.int(hi));

const models: [string, GPTConfig][] = [
  ['Llama (MHA, rope, RMSNorm, SwiGLU, no biases, untied)', {
    vocabSize: 19, maxSeqLen: 16, layers: 2, heads: 2, dim: 12, ffnDim: 20, norm: 'rmsnorm', normEps: 1e-5,
    positions: 'rope', mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false,
  }],
  ['Llama 3 (GQA 4/2, rope llama3, untied)', {
    vocabSize: 23, maxSeqLen: 80, layers: 2, heads: 4, kvHeads: 2, dim: 16, ffnDim: 24, norm: 'rmsnorm', normEps: 1e-5,
    positions: 'rope', ropeTheta: 500000,
    ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 },
    mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false,
  }],
  // head size 16: the AVX-512 attention kernels run (where the build has them), the others use
  // the portable ones
  ['Llama 3 at head size 16 (GQA 4/2, rope linear)', {
    vocabSize: 13, maxSeqLen: 70, layers: 1, heads: 4, kvHeads: 2, dim: 64, ffnDim: 40, norm: 'rmsnorm', normEps: 1e-5,
    positions: 'rope', ropeTheta: 10000, ropeScaling: { type: 'linear', factor: 2 },
    mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false,
  }],
  ['Qwen2 (GQA 4/1, qkv biases, rope theta 1e6, tied)', {
    vocabSize: 17, maxSeqLen: 12, layers: 2, heads: 4, kvHeads: 1, dim: 16, ffnDim: 20, norm: 'rmsnorm', normEps: 1e-6,
    positions: 'rope', ropeTheta: 1000000, mlp: 'swiglu', qkvBias: true, linearBias: false, tiedEmbeddings: true,
  }],
];

// A model with the reference's random parameters, imported one tensor at a time.
async function build(cfg: GPTConfig): Promise<{ model: GPT; params: Float32Array }> {
  const model = await GPT.create({ ...cfg, device: 'cpu', seed: rng.int(1000) });
  const params = randomReferenceParameters(cfg, rng);
  for (const t of parameterLayout(cfg)) model.importParameterRange(t.offset, params.subarray(t.offset, t.offset + t.size));
  return { model, params };
}

const gatesFor = (cfg: GPTConfig) => Float32Array.from({ length: cfg.layers * cfg.heads }, (_, i) => [1, 0.6, 0, 1.3][i % 4]!);

test('layout: the library layout equals the reference layout for every Llama config', () => {
  for (const [name, cfg] of models) {
    const lib = parameterLayout(cfg).map((t) => [t.name, t.offset, t.size, t.shape.join('x')]);
    const ref = referenceLayout(cfg).map((t) => [t.name, t.offset, t.size, t.size ? t.shape.join('x') : '0']);
    assert.equal(lib, ref, name);
  }
});

for (const [name, cfg] of models) {
  for (const [B, T] of [[2, 5], [1, 1], [1, cfg.maxSeqLen]] as const) {
    test(`${name}: logits, loss and head gate gradients = float64 reference (B${B} T${T})`, async () => {
      const gates = gatesFor(cfg);
      // Not vacuous: scores are compared relative to max(largest score, 1e-3·loss); a draw whose
      // scores all sit below 1e-3·loss is replaced by the next draw of the seed.
      let model: GPT, params: Float32Array, tokens: Int32Array, targets: Int32Array, lossWeights: Float32Array | undefined;
      let want: ReturnType<typeof referenceForward>, wantScores: Float64Array;
      for (let draw = 0; ; draw++) {
        assert.ok(draw < 20, 'twenty draws each had all reference scores below 1e-3 of the loss: the check would be vacuous');
        ({ model, params } = await build(cfg));
        tokens = ints(B * T, cfg.vocabSize);
        targets = ints(B * T, cfg.vocabSize);
        if (B * T > 2) targets[1] = -1;
        lossWeights = T > 1 ? Float32Array.from({ length: B * T }, () => 0.05 + rng.next() * 0.3) : undefined;
        want = referenceForward(cfg, params, tokens, B, T, { targets, lossWeights, gates });
        wantScores = referenceGateGradients(cfg, params, tokens, B, T, { targets, lossWeights, gates });
        if (wantScores.some((x) => Math.abs(x) > 1e-3 * Math.abs(want.loss))) break;
        model.dispose();
      }
      assert.equal(Array.from(model.exportParametersSync()), Array.from(params));
      model.setHeadGates(gates);
      const got = await model.forward(tokens, { batch: B, seqLen: T, targets, lossWeights, returnLogits: true });
      const { headScores } = await model.backward();
      // f32 against float64, worst over this test's draws on Rng(s) for 2,000 seeds of the B2 T5
      // and B1 T1 shapes of every model: logits 6.1e-6 of their scale (bound 1.5e-5, margin 2.5;
      // 5e-6 failed), loss 2.9e-6 (a one-token loss: nothing averages its rounding out; bound
      // 1e-5, margin 3.4), scores 1.65e-5 (bound 5e-5, margin 3)
      within(`llama: logits, error / their scale (${name}, B${B} T${T})`, maxRelError(got.logits!, want.logits), 1.5e-5);
      within(`llama: loss, relative error (${name}, B${B} T${T})`, Math.abs(got.loss - want.loss) / Math.abs(want.loss), 1e-5,
        `engine ${got.loss}, reference ${want.loss}`);
      within(`llama: head scores, error / max(their scale, 1e-3·loss) (${name}, B${B} T${T})`,
        maxRelError(headScores, wantScores, 1e-3 * Math.abs(want.loss)), 5e-5,
        ` engine ${Array.from(headScores)}\n reference ${Array.from(wantScores)}`);
      model.dispose();
    });
  }

  test(`${name}: every parameter gradient = central difference of the float64 loss`, async () => {
    const { model, params } = await build(cfg);
    const B = 2, T = 6;
    const tokens = ints(B * T, cfg.vocabSize), targets = ints(B * T, cfg.vocabSize);
    const gates = gatesFor(cfg);
    model.setHeadGates(gates);
    await model.forward(tokens, { batch: B, seqLen: T, targets });
    await model.backward();
    const grads = model.exportGradients();
    const lossAt = (p: Float64Array) => referenceForward(cfg, p, tokens, B, T, { targets, gates }).loss;
    for (const t of sampledCentralDifferences(cfg, params, grads, lossAt, rng)) {
      within(`llama: parameter gradient vs central difference, error / max(scale, 1e-2) (${name}, ${t.name})`,
        maxRelError(t.got, t.want, 1e-2), 2e-3, ` engine ${t.got}\n finite differences ${t.want}`);
    }
    model.dispose();
  });

  test(`${name}: scores-only passes give the full backward's head scores and loss`, async () => {
    const { model } = await build(cfg);
    model.setHeadGates(gatesFor(cfg));
    const B = 2, T = 7;
    const tokens = ints(B * T, cfg.vocabSize);
    const targets = Int32Array.from({ length: B * T }, (_, i) => (i % T < 2 ? -1 : rng.int(cfg.vocabSize)));
    const o = { batch: B, seqLen: T, targets };
    const full = await model.forward(tokens, o);
    const want = (await model.backward()).headScores;
    const fast = await model.forward(tokens, { ...o, scoresOnly: true });
    const got = (await model.backward({ scoresOnly: true })).headScores;
    within(`llama: scores-only loss, relative error (${name})`, Math.abs(fast.loss - full.loss) / Math.abs(full.loss), 1e-6,
      `loss ${fast.loss} vs ${full.loss}`);
    within(`llama: scores-only head scores, error / max(scale, 1e-3·loss) (${name})`, maxRelError(got, want, 1e-3 * Math.abs(full.loss)), 1e-5);
    model.dispose();
  });

  test(`${name}: greedy generation with the KV cache = argmax decoding of the reference`, async () => {
    const { model, params } = await build(cfg);
    const gates = gatesFor(cfg);
    model.setHeadGates(gates);
    const prompt = ints(3, cfg.vocabSize);
    const n = Math.min(8, cfg.maxSeqLen - prompt.length);
    const got = Array.from(await model.generate(prompt, { maxNewTokens: n }));
    assert.is(got.length, n);
    // ties: the logits are held to 1.5e-5 of their scale above, so twice that
    checkGreedy(`llama: greedy token, shortfall from the reference's best logit / scale (${name})`, cfg, params, prompt, got, 3e-5, gates);
    model.dispose();
  });
}

test('generation sizes its KV cache to the call and grows it for a longer one (Llama 3, 80 positions)', async () => {
  const cfg = models[1]![1];
  const { model, params } = await build(cfg);
  const prompt = ints(3, cfg.vocabSize);
  const long = cfg.maxSeqLen - prompt.length; // past the first cache size (64 positions)
  const want = Array.from(await model.generate(prompt, { maxNewTokens: long }));
  assert.is(want.length, long);
  checkGreedy('llama: greedy token past the first KV cache size, shortfall / scale', cfg, params, prompt, want, 3e-5);
  // the cache's size changes nothing: shorter calls give the same tokens, bit for bit
  assert.equal(Array.from(await model.generate(prompt, { maxNewTokens: 2 })), want.slice(0, 2));
  assert.equal(Array.from(await model.generate(prompt, { maxNewTokens: 5 })), want.slice(0, 5));
  model.dispose();
});

test('trainableHeads under GQA: a query head trains its Q rows and O columns, its group trains K/V rows', async () => {
  const cfg = models[1]![1]; // 4 query heads, 2 k/v heads (groups {0,1} and {2,3})
  const { model, params } = await build(cfg);
  const { layers: L, heads: H, dim: C } = cfg;
  const KV = cfg.kvHeads!, hs = C / H, QKV = (H + 2 * KV) * hs;
  const B = 2, T = 5;
  await model.forward(ints(B * T, cfg.vocabSize), { batch: B, seqLen: T, targets: ints(B * T, cfg.vocabSize) });
  await model.backward();
  const trainable = new Uint8Array(L * H);
  trainable[1] = 1; // layer 0, query head 1 (group 0)
  await model.step({ lr: 1e-2, trainableHeads: trainable });
  const after = model.exportParametersSync();
  const t = Object.fromEntries(parameterLayout(cfg).map((x) => [x.name, x]));
  const changedRow = (l: number, row: number) => {
    const off = t.qkvw!.offset + (l * QKV + row) * C;
    for (let i = 0; i < C; i++) if (after[off + i] !== params[off + i]) return true;
    return false;
  };
  for (let l = 0; l < L; l++) {
    for (let row = 0; row < QKV; row++) {
      let expected = false;
      if (l === 0) {
        if (row < H * hs) expected = Math.floor(row / hs) === 1; // Q rows of head 1
        else expected = Math.floor(((row - H * hs) % (KV * hs)) / hs) === 0; // K and V rows of group 0
      }
      assert.is(changedRow(l, row), expected, `layer ${l} qkvw row ${row}`);
    }
  }
  for (let l = 0; l < L; l++) {
    for (let r = 0; r < C; r++) {
      for (let c = 0; c < C; c++) {
        const i = t.attprojw!.offset + (l * C + r) * C + c;
        assert.is(after[i] !== params[i], l === 0 && Math.floor(c / hs) === 1, `layer ${l} attprojw [${r}, ${c}]`);
      }
    }
  }
  for (const name of ['wte', 'lmhead', 'ln1w', 'fcw', 'fcprojw', 'lnfw']) {
    const x = t[name]!;
    assert.ok(after.subarray(x.offset, x.offset + x.size).every((v, i) => v === params[x.offset + i]), `${name} frozen`);
  }
  model.dispose();
});

// precision 'bf16' on the CPU (the linear layers' gemms in bf16) with the Llama switches, on the
// default initialisation: measured loss within ~1e-5 and head scores within ~5e-3 of the largest
// (2 layers, 4 heads, dim 64, 3×37 tokens); bounds with a 6-10x margin.
const bf16Test = backendInfo().cpu.bf16.available ? test : test.skip;
bf16Test('bf16 on the CPU with the Llama switches stays within bounds of f32 (Llama 3, Qwen2 shapes)', async () => {
  const base = { vocabSize: 97, maxSeqLen: 64, layers: 2, heads: 4, dim: 64, ffnDim: 96 };
  for (const cfg of [{ ...models[1]![1], ...base }, { ...models[3]![1], ...base }]) {
    const seed = rng.int(1000);
    const a = await GPT.create({ ...cfg, seed });
    const b = await GPT.create({ ...cfg, seed, precision: 'bf16' });
    assert.is(b.precision, 'bf16');
    const B = 3, T = 37;
    const x = ints(B * T, cfg.vocabSize), y = ints(B * T, cfg.vocabSize);
    const la = (await a.forward(x, { batch: B, seqLen: T, targets: y })).loss;
    const sa = (await a.backward()).headScores;
    const lb = (await b.forward(x, { batch: B, seqLen: T, targets: y })).loss;
    const sb = (await b.backward()).headScores;
    const shape = cfg.kvHeads === 1 ? 'Qwen2' : 'Llama 3';
    within(`llama: bf16 vs f32 loss, relative (${shape})`, Math.abs(la - lb) / la, 1e-4, `loss bf16 ${lb} vs f32 ${la}`);
    within(`llama: bf16 vs f32 head scores, error / largest (${shape})`, maxRelError(sb, sa, 1e-30), 0.03);
    a.dispose();
    b.dispose();
  }
});

test('importParameterRange / exportParameterRange: round trip, bounds, errors naming the argument', async () => {
  const cfg = models[0]![1];
  const model = await GPT.create({ ...cfg, device: 'cpu' });
  const n = parameterCount(cfg);
  assert.is(model.parameterCount, n);
  const all = model.exportParametersSync();
  assert.equal(Array.from(model.exportParameterRange(5, 7)), Array.from(all.subarray(5, 12)));
  assert.is(model.exportParameterRange(n, 0).length, 0);
  const data = Float32Array.from({ length: 9 }, (_, i) => i + 0.5);
  model.importParameterRange(n - 9, data);
  assert.equal(Array.from(model.exportParameterRange(n - 9, 9)), Array.from(data));
  assert.equal(Array.from(model.exportParametersSync().subarray(0, n - 9)), Array.from(all.subarray(0, n - 9)));
  assert.throws(() => model.importParameterRange(n - 8, data), /data: offset .* \+ length 9 exceeds/);
  assert.throws(() => model.importParameterRange(-1, data), /offset: expected an integer in \[0, /);
  assert.throws(() => model.importParameterRange(0, new Float32Array([1, NaN])), /data\[1\]: expected a finite number/);
  assert.throws(() => model.importParameterRange(0, [1, 2] as unknown as Float32Array), /data: expected a Float32Array/);
  assert.throws(() => model.exportParameterRange(1, n), /length: expected an integer in \[0, /);
  model.dispose();
});

test('validateConfig and GPT.create name a bad Llama field', async () => {
  const base = models[1]![1];
  assert.throws(() => validateConfig({ ...base, kvHeads: 3 }), /kvHeads: must divide heads \(4\), got 3/);
  assert.throws(() => validateConfig({ ...base, norm: 'batchnorm' as 'rmsnorm' }), /norm: expected 'layernorm' or 'rmsnorm'/);
  assert.throws(() => validateConfig({ ...base, positions: 'alibi' as 'rope' }), /positions: expected/);
  assert.throws(() => validateConfig({ ...base, ropeScaling: { type: 'yarn' } as never }), /ropeScaling\.type: expected 'linear', 'llama3' or 'longrope', got "yarn"/);
  assert.throws(() => validateConfig({ ...base, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 4, highFreqFactor: 1, originalMaxPositions: 16 } }),
    /highFreqFactor \(1\) must be greater than lowFreqFactor \(4\)/);
  assert.throws(() => validateConfig({ ...base, positions: 'learned' }), /ropeScaling: needs positions 'rope'/);
  assert.throws(() => validateConfig({ ...base, dim: 20, heads: 4, kvHeads: 2, ropeScaling: null }), /'rope' needs an even head size/);
  assert.throws(() => validateConfig({ ...base, qkvBias: 1 as unknown as boolean }), /qkvBias: expected a boolean/);
  assert.throws(() => validateConfig({ vocabSize: 5, maxSeqLen: 4, layers: 1, heads: 1, dim: 4, normEps: 1e-6 }), /normEps: 'layernorm' supports only 1e-5/);
  await rejects(GPT.create({ ...base, ffnDim: 0 }), /ffnDim: expected a positive integer/);
});

test('GPT-2 configs keep their five fields, their layout and the tied head', async () => {
  const cfg: GPTConfig = { vocabSize: 11, maxSeqLen: 8, layers: 2, heads: 2, dim: 8 };
  const model = await GPT.create({ ...cfg, kvHeads: 2, norm: 'layernorm', tiedEmbeddings: true, device: 'cpu' });
  assert.equal(model.config, cfg); // explicit defaults are dropped
  assert.is(parameterLayout(cfg).find((t) => t.name === 'lmhead')!.size, 0);
  model.dispose();
});

test.run();
