// precision 'bf16' on the CPU keeps the 2-D weights only as bf16 (docs/memory.md): the model
// against the float64 reference (GPT-2 and Llama-family configs, within the bounds that
// gpt-bf16-cpu.test.ts states for bf16 against f32), the engine's resident bytes by kind (no f32
// copy of a matrix; masters, gradients and moments only for the trainable set), head-targeted
// training that changes nothing outside the chosen slices, the bf16 import of raw bits, and an
// optimizer state that continues bit for bit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backendInfo, GPT, parameterLayout, type GPTConfig } from '../lib/index.js';
import { Rng } from '../lib/util/random.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readSafetensors } from '../lib/checkpoint/safetensors.js';
import { sameBits, within } from './helpers/compare.js';
import { checkGreedy } from './helpers/greedy.js';
import { randomReferenceParameters, referenceForward, referenceGateGradients } from './helpers/reference_model.js';
import { testSeed } from './helpers/seed.js';

const rng = new Rng(testSeed('gpt-bf16-weights'));
const ints = (n: number, hi: number) => Int32Array.from({ length: n }, () => rng.int(hi));
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

// bf16 rounding (nearest even) of an f32, as the engine does it
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
function bf16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
function widen(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}

const llama: GPTConfig = {
  vocabSize: 23, maxSeqLen: 40, layers: 2, heads: 4, kvHeads: 2, dim: 16, ffnDim: 24, norm: 'rmsnorm', normEps: 1e-5,
  positions: 'rope', ropeTheta: 500000, mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false,
};
const qwen: GPTConfig = {
  vocabSize: 17, maxSeqLen: 12, layers: 2, heads: 4, kvHeads: 1, dim: 16, ffnDim: 20, norm: 'rmsnorm', normEps: 1e-6,
  positions: 'rope', ropeTheta: 1e6, mlp: 'swiglu', qkvBias: true, linearBias: false, tiedEmbeddings: true,
};
const gpt2: GPTConfig = { vocabSize: 29, maxSeqLen: 40, layers: 2, heads: 4, dim: 20 };

const matrices = new Set(['wte', 'wpe', 'qkvw', 'attprojw', 'fcw', 'fcprojw', 'lmhead']);
function vectorCount(cfg: GPTConfig): number {
  return parameterLayout(cfg).filter((t) => !matrices.has(t.name)).reduce((n, t) => n + t.size, 0);
}

const bf16Runs = backendInfo().cpu.bf16.available;
// Greedy decoding in bf16: the logits are off from the float64 reference by bf16 rounding of the
// activations (about 2^-9 relative per GEMM input), so two logits that close may swap. The bound is
// the tie allowed, relative to the logits' scale; see the sweep note beside its value.
// Over 993 seeds × 8 tokens the worst shortfall was 8.3e-3 of the scale (margin 3.6).
const BF16_TIE = 3e-2;

if (!bf16Runs) {
  test('bf16 weights: bf16 does not run on this CPU (f32 runs; gpt-bf16-cpu.test.ts checks that)', () => {
    console.log(`  skipped: ${backendInfo().cpu.bf16.reason}`);
  });
} else {
  for (const [name, cfg, B, T] of [['Llama 3 (GQA 4/2, untied)', llama, 3, 37], ['Qwen2 (GQA 4/1, qkv biases, tied)', qwen, 2, 11],
    ['GPT-2', gpt2, 2, 29], ['Llama 3, one token', llama, 1, 1]] as const) {
    test(`bf16 weights = float64 reference within the bf16 bounds: loss, head scores (${name}, B${B} T${T})`, async () => {
      const model = await GPT.create({ ...cfg, device: 'cpu', precision: 'bf16' });
      const params = randomReferenceParameters(cfg, rng, 0.1);
      model.importParametersSync(params);
      const tokens = ints(B * T, cfg.vocabSize);
      const targets = ints(B * T, cfg.vocabSize);
      const gates = Float32Array.from({ length: cfg.layers * cfg.heads }, (_, i) => [1, 0.6, 0, 1.3][i % 4]!);
      model.setHeadGates(gates);
      const got = await model.forward(tokens, { batch: B, seqLen: T, targets });
      const { headScores } = await model.backward({});
      const want = referenceForward(cfg, params, tokens, B, T, { targets, gates });
      const wantScores = referenceGateGradients(cfg, params, tokens, B, T, { targets, gates });
      const lossRel = Math.abs(got.loss - want.loss) / want.loss;
      const scoreRel = maxDiff(headScores, wantScores) / maxAbs(wantScores);
      // One token's loss 1%, a mean over many 0.3%, head scores 10% of the largest: over 993 seeds
      // (HEADGRAD_TEST_MEASURE=1 npm run test:seeds -- --count 1000 --start 4000000) the worst were
      // 0.24%, 0.059% and 3.75% (one token; 6%, the earlier bound, left a margin of 1.6)
      within(`gpt-bf16-weights: loss vs reference, relative (${name})`, lossRel, B * T === 1 ? 1e-2 : 3e-3, `loss ${got.loss} vs reference ${want.loss}`);
      within(`gpt-bf16-weights: head scores vs reference, error / largest (${name})`, scoreRel, 0.1);
      // that these are bf16 weights (rounded at import, no f32 copy) is checked bit for bit by the
      // import and resident-bytes tests below; a lower bound on lossRel here failed on lucky draws
      // the scores-only pass gives the same scores as the full one
      await model.forward(tokens, { batch: B, seqLen: T, targets, scoresOnly: true });
      const so = await model.backward({ scoresOnly: true });
      within(`gpt-bf16-weights: scores-only head scores vs full, error / largest (${name})`, maxDiff(so.headScores, headScores) / maxAbs(headScores), 1e-6);
      model.dispose();
    });
  }

  test('resident bytes: bf16 holds matrices only as bf16; masters, gradients, moments only for what trains', async () => {
    const cfg = llama;
    const n = parameterLayout(cfg).reduce((s, t) => s + t.size, 0);
    const vectors = vectorCount(cfg);
    const B = 2, T = 9;
    const tokens = ints(B * T, cfg.vocabSize), targets = ints(B * T, cfg.vocabSize);
    const run = async (m: GPT, train: boolean) => {
      await m.forward(tokens, { batch: B, seqLen: T, targets, scoresOnly: !train });
      await m.backward({ scoresOnly: !train });
      if (train) await m.step({ lr: 1e-3 });
      return m.residentBytes();
    };
    const f = await GPT.create({ ...cfg, device: 'cpu' });
    const rf = await run(f, true);
    assert.is(rf.weightsF32, 4 * n);
    assert.is(rf.weightsBf16 + rf.vectorsF32 + rf.master, 0);
    assert.is(rf.grads, 4 * n);
    assert.is(rf.moments, 8 * n);

    const frozen = await GPT.create({ ...cfg, device: 'cpu', precision: 'bf16' });
    const r0 = await run(frozen, false);
    assert.is(r0.weightsF32, 0, 'no f32 copy of the weights');
    assert.is(r0.weightsBf16, 2 * n);
    assert.is(r0.vectorsF32, 4 * vectors);
    assert.is(r0.master + r0.grads + r0.moments, 0, 'frozen work holds no training state');
    // the scores-only pass keeps no layer's linear-layer inputs and logits for a chunk of rows only
    assert.ok(r0.activations > 0 && r0.activations < rf.activations, `scores-only activations ${r0.activations} < full ${rf.activations}`);

    // heads mode: layer 0 head 1 (k/v group 0) and layer 1 heads 2, 3 (k/v group 1)
    const H = cfg.heads, C = cfg.dim, hs = C / H;
    const heads = new Uint8Array(cfg.layers * H);
    heads[1] = 1;
    heads[H + 2] = 1;
    heads[H + 3] = 1;
    const headsModel = await GPT.create({ ...cfg, device: 'cpu', precision: 'bf16' });
    headsModel.setTrainable({ trainableHeads: heads });
    const rh = await run(headsModel, true);
    // per chosen query head: hs Q rows of C and hs attprojw columns of C; per k/v group used: 2·hs rows of C
    const trained = 3 * (hs * C + C * hs) + 2 * (2 * hs * C);
    assert.is(rh.weightsBf16, 2 * n);
    assert.is(rh.weightsF32, 0);
    assert.is(rh.master, 4 * trained);
    assert.is(rh.grads, 4 * trained);
    assert.is(rh.moments, 8 * trained);
    assert.is(headsModel.exportOptimizerState().m.length, trained);

    const full = await GPT.create({ ...cfg, device: 'cpu', precision: 'bf16' });
    const rfull = await run(full, true);
    assert.is(rfull.weightsBf16, 2 * n);
    assert.is(rfull.master, 4 * n);
    assert.is(rfull.grads, 4 * n);
    assert.is(rfull.moments, 8 * n);
    for (const m of [f, frozen, headsModel, full]) m.dispose();
  });

  test('bf16 heads mode: only the chosen slices change, they learn, and step()/setTrainable() refuse another set', async () => {
    const cfg = llama;
    const H = cfg.heads, C = cfg.dim, hs = C / H, KV = cfg.kvHeads!, QKV = (H + 2 * KV) * hs;
    const heads = new Uint8Array(cfg.layers * H);
    heads[H + 1] = 1; // layer 1, head 1: k/v group 0
    const model = await GPT.create({ ...cfg, device: 'cpu', precision: 'bf16', seed: 4 });
    model.setTrainable({ trainableHeads: heads });
    const before = model.exportParametersSync();
    const B = 4, T = 12;
    const tokens = ints(B * T, 8);
    const targets = Int32Array.from(tokens, (t) => (t * 5 + 3) % cfg.vocabSize);
    const losses: number[] = [];
    for (let s = 0; s < 8; s++) {
      losses.push((await model.forward(tokens, { batch: B, seqLen: T, targets })).loss);
      await model.backward();
      await model.step({ lr: 3e-2 });
    }
    assert.ok(losses[7]! < losses[0]!, `the chosen head learns: ${losses[0]} -> ${losses[7]}`);
    const after = model.exportParametersSync();
    const layout = parameterLayout(cfg);
    const trainedAt = new Set<number>();
    const qkvw = layout.find((t) => t.name === 'qkvw')!, attprojw = layout.find((t) => t.name === 'attprojw')!;
    const l = 1, base = qkvw.offset + l * QKV * C;
    for (const row0 of [1 * hs, (H + 0) * hs, (H + KV + 0) * hs]) // Q rows of head 1, K and V rows of group 0
      for (let i = 0; i < hs * C; i++) trainedAt.add(base + row0 * C + i);
    for (let r = 0; r < C; r++) for (let c = 0; c < hs; c++) trainedAt.add(attprojw.offset + l * C * C + r * C + 1 * hs + c);
    let changed = 0;
    for (let i = 0; i < after.length; i++) {
      if (trainedAt.has(i)) changed += after[i] !== before[i] ? 1 : 0;
      else if (after[i] !== before[i]) assert.unreachable(`parameter ${i} changed outside the chosen slices`);
    }
    assert.ok(changed > trainedAt.size / 2, `the chosen slices moved (${changed} of ${trainedAt.size})`);
    const other = new Uint8Array(cfg.layers * H);
    other[0] = 1;
    await model.forward(tokens, { batch: B, seqLen: T, targets });
    await model.backward();
    let refused = '';
    await model.step({ lr: 1e-3, trainableHeads: other }).catch((e: Error) => { refused = e.message; });
    assert.match(refused, /setTrainable/);
    assert.throws(() => model.setTrainable({ trainableHeads: other }), /holds optimizer state/);
    model.importParametersSync(after); // starts over: a new set is accepted
    model.setTrainable({ trainableHeads: other });
    model.dispose();
  });

  test('bf16 gradients of the trainable set = the f32 model gradients within the bf16 bounds (heads+mlp, Llama GQA); 0 elsewhere', async () => {
    const cfg = llama;
    const heads = new Uint8Array(cfg.layers * cfg.heads);
    heads[0] = 1;
    heads[7] = 1;
    const f = await GPT.create({ ...cfg, device: 'cpu', seed: 3 });
    const b = await GPT.create({ ...cfg, device: 'cpu', seed: 3, precision: 'bf16' });
    f.importParametersSync(b.exportParametersSync()); // the same (bf16) values in both
    b.setTrainable({ trainableHeads: heads, trainMlp: true });
    const B = 3, T = 13;
    const tokens = ints(B * T, cfg.vocabSize), targets = ints(B * T, cfg.vocabSize);
    const grads = [];
    for (const m of [f, b]) {
      await m.forward(tokens, { batch: B, seqLen: T, targets });
      await m.backward();
      grads.push(m.exportGradients());
    }
    const [gf, gb] = grads as [Float32Array, Float32Array];
    // which elements train: rebuild them from the optimizer's own view (a step with the f32 model)
    f.setTrainable({ trainableHeads: heads, trainMlp: true });
    const before = f.exportParametersSync();
    await f.step({ lr: 1e-3 });
    const moved = f.exportParametersSync().map((x, i) => (x !== before[i] ? 1 : 0));
    let scale = 0, err = 0, zeroOutside = true;
    for (let i = 0; i < gf.length; i++) {
      if (moved[i]) {
        scale = Math.max(scale, Math.abs(gf[i]!));
        err = Math.max(err, Math.abs(gf[i]! - gb[i]!));
      } else if (gb[i] !== 0 && gf[i] !== 0) {
        zeroOutside = false;
      }
    }
    assert.ok(scale > 0);
    within('gpt-bf16-weights: bf16 gradients of the trained slices vs f32, error / largest', err / scale, 0.06);
    assert.ok(zeroOutside, 'no gradient outside the trainable set');
    f.dispose();
    b.dispose();
  });

  test('importParameterRangeBf16: a bf16 model keeps the bits, an f32 model widens them; non-finite bits are refused', async () => {
    const cfg = gpt2;
    const n = parameterLayout(cfg).reduce((s, t) => s + t.size, 0);
    const bits = Uint16Array.from({ length: n }, () => bf16Bits(rng.normal() * 0.05));
    for (const precision of ['bf16', 'f32'] as const) {
      const m = await GPT.create({ ...cfg, device: 'cpu', precision });
      m.importParameterRangeBf16(0, bits.subarray(0, 1000));
      m.importParameterRangeBf16(1000, bits.subarray(1000));
      const p = m.exportParametersSync();
      for (let i = 0; i < n; i++) if (p[i] !== widen(bits[i]!)) assert.unreachable(`${precision}: parameter ${i} is ${p[i]}, want ${widen(bits[i]!)}`);
      const bad = bits.slice(0, 5);
      bad[3] = 0x7fc0; // NaN
      assert.throws(() => m.importParameterRangeBf16(0, bad), /bits: expected finite bf16 values, got NaN at index 3/);
      m.dispose();
    }
    // an f32 import into a bf16 model rounds the matrices once (nearest even) and keeps the vectors exact
    const m = await GPT.create({ ...cfg, device: 'cpu', precision: 'bf16' });
    const x = randomReferenceParameters(cfg, rng);
    m.importParametersSync(x);
    const got = m.exportParametersSync();
    for (const t of parameterLayout(cfg)) {
      for (let i = t.offset; i < t.offset + t.size; i++) {
        const want = matrices.has(t.name) ? widen(bf16Bits(x[i]!)) : x[i]!;
        if (got[i] !== want) assert.unreachable(`${t.name}[${i - t.offset}]: ${got[i]}, want ${want}`);
      }
    }
    m.dispose();
  });

  test('bf16 optimizer state (moments + f32 masters of the trainable set) continues bit for bit', async () => {
    const cfg = qwen;
    const heads = new Uint8Array(cfg.layers * cfg.heads);
    heads[2] = 1;
    heads[5] = 1;
    const B = 2, T = 10;
    const tokens = ints(B * T, cfg.vocabSize), targets = ints(B * T, cfg.vocabSize);
    const train = async (m: GPT, steps: number) => {
      const out: number[] = [];
      for (let s = 0; s < steps; s++) {
        out.push((await m.forward(tokens, { batch: B, seqLen: T, targets })).loss);
        await m.backward();
        await m.step({ lr: 1e-2, weightDecay: 0.1, gradClip: 1 });
      }
      return out;
    };
    for (const set of [{ trainableHeads: heads, trainMlp: true }, {}]) {
      const a = await GPT.create({ ...cfg, device: 'cpu', precision: 'bf16', seed: 9 });
      a.setTrainable(set);
      await train(a, 3);
      const state = a.exportOptimizerState();
      const params = a.exportParametersSync();
      assert.ok(state.master instanceof Float32Array && state.master.length === state.m.length);
      const b = await GPT.create({ ...cfg, device: 'cpu', precision: 'bf16', seed: 1 });
      b.importParametersSync(params);
      b.setTrainable(set);
      b.importOptimizerState(state);
      const la = await train(a, 3), lb = await train(b, 3);
      assert.equal(lb, la, 'the same losses');
      assert.ok(sameBits(a.exportParametersSync(), b.exportParametersSync()), 'the same parameters');
      assert.throws(() => b.importOptimizerState({ ...state, master: undefined }), /master/);
      a.dispose();
      b.dispose();
    }
  });

  // a bf16 Llama after one step that trains one head: qkvw and attprojw then hold f32 masters
  async function trainedOneHead(seed: number, head: number): Promise<GPT> {
    const m = await GPT.create({ ...llama, device: 'cpu', precision: 'bf16', seed });
    const heads = new Uint8Array(llama.layers * llama.heads);
    heads[head] = 1;
    m.setTrainable({ trainableHeads: heads });
    const B = 2, T = 8;
    const tokens = ints(B * T, llama.vocabSize);
    await m.forward(tokens, { batch: B, seqLen: T, targets: tokens });
    await m.backward();
    await m.step({ lr: 1e-2 });
    return m;
  }

  test('save(): the masters of trained tensors as F32, the bf16 weights as BF16 (dtypes in the metadata); loading gives them back exactly', async () => {
    const m = await trainedOneHead(6, 3);
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'hg-bf16-save-')), 'm.safetensors');
    await m.save(file);
    const st = await readSafetensors(file);
    const dtypes = JSON.parse(st.metadata.dtypes!) as Record<string, string>;
    for (const name of ['qkvw', 'attprojw']) assert.is(st.tensors.get(name)!.dtype, 'F32', `${name} holds trained slices: F32 masters`);
    for (const name of ['wte', 'fcw', 'fcprojw', 'lmhead']) assert.is(st.tensors.get(name)!.dtype, 'BF16', `${name} is frozen: BF16`);
    for (const [name, entry] of st.tensors) assert.is(dtypes[name], entry.dtype, `metadata dtype of ${name}`);
    const back = await GPT.load(file);
    assert.ok(sameBits(back.exportParametersSync(), m.exportParametersSync()), 'an f32 load of the file = the saved values');
    const back16 = await GPT.load(file, { precision: 'bf16' });
    const a = back16.exportParametersSync(), want = m.exportParametersSync();
    for (let i = 0; i < a.length; i++) if (a[i] !== widen(bf16Bits(want[i]!))) assert.unreachable(`bf16 load: parameter ${i}`);
    for (const x of [m, back, back16]) x.dispose();
    rmSync(path.dirname(file), { recursive: true, force: true });
  });

  test('save() to a Hugging Face folder: frozen bf16 weights as BF16, the masters as F32, dtypes named; the folder loads back exactly (sharded, GPT-2 too)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hg-bf16-hf-'));
    const { readSafetensorsHeader } = await import('../lib/checkpoint/safetensors.js');
    const { readFileSync, readdirSync } = await import('node:fs');
    const headers = async (folder: string) => {
      const all = new Map<string, string>();
      for (const f of readdirSync(folder).filter((x) => x.endsWith('.safetensors'))) {
        const h = await readSafetensorsHeader(path.join(folder, f));
        const named = JSON.parse(h.metadata.dtypes!) as Record<string, string>;
        for (const [name, t] of h.tensors) {
          assert.is(named[name], t.dtype, `${f}: __metadata__.dtypes of ${name}`);
          all.set(name, t.dtype);
        }
      }
      return all;
    };
    // trained: qkvw and attprojw hold masters (F32); everything frozen is BF16
    const m = await trainedOneHead(8, 5);
    const trained = path.join(dir, 'trained');
    await m.save(trained, { maxShardBytes: 4000 });
    const t = await headers(trained);
    assert.ok(readdirSync(trained).includes('model.safetensors.index.json'), 'sharded');
    // head 5 is layer 1's head 1 (k/v group 0): HF tensors are per layer, so layer 0 stays BF16
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) {
      assert.is(t.get(`model.layers.1.self_attn.${p}.weight`), 'F32', `layer 1 ${p} holds a trained head: F32 masters`);
      assert.is(t.get(`model.layers.0.self_attn.${p}.weight`), 'BF16', `layer 0 ${p} is frozen: BF16`);
    }
    assert.is(t.get('model.layers.1.mlp.up_proj.weight'), 'BF16', 'frozen: BF16');
    assert.is(t.get('lm_head.weight'), 'BF16');
    assert.is(JSON.parse(readFileSync(path.join(trained, 'config.json'), 'utf8')).torch_dtype, 'float32', 'some tensors need f32');
    const back = await GPT.load(trained);
    assert.ok(sameBits(back.exportParametersSync(), m.exportParametersSync()), 'an f32 load of the folder = the saved values');
    back.dispose();
    m.dispose();
    // frozen: every matrix is BF16 (and the vectors too where they are bf16 numbers)
    for (const cfg of [llama, gpt2]) {
      const f = await GPT.create({ ...cfg, device: 'cpu', precision: 'bf16', seed: 9 });
      const frozen = path.join(dir, `frozen-${cfg === gpt2 ? 'gpt2' : 'llama'}`);
      await f.save(frozen);
      const h = await headers(frozen);
      const wte = cfg === gpt2 ? 'transformer.wte.weight' : 'model.embed_tokens.weight';
      assert.is(h.get(wte), 'BF16', `${wte} of a frozen bf16 model`);
      if ([...h.values()].every((d) => d === 'BF16')) assert.is(JSON.parse(readFileSync(path.join(frozen, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
      const again = await GPT.load(frozen, { precision: 'bf16' });
      assert.ok(sameBits(again.exportParametersSync(), f.exportParametersSync()), `${cfg === gpt2 ? 'gpt2' : 'llama'}: the bf16 load = the saved values`);
      again.dispose();
      f.dispose();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('bf16 generate runs on the bf16 weights: each greedy token is the float64 reference\'s argmax, or ties with it within bf16 rounding', async () => {
    const cfg = llama;
    const params = randomReferenceParameters(cfg, rng, 0.1);
    // a model with a wide spread of logits (the LM head scaled up), so that a wrong cache entry or
    // position moves the argmax by far more than the tie allowed for bf16 rounding
    const head = parameterLayout(cfg).find((t) => t.name === 'lmhead')!;
    for (let i = head.offset; i < head.offset + head.size; i++) params[i] = params[i]! * 30;
    const model = await GPT.create({ ...cfg, device: 'cpu', precision: 'bf16' });
    model.importParametersSync(params);
    const prompt = ints(5, cfg.vocabSize);
    const got = await model.generate(prompt, { maxNewTokens: 8 });
    checkGreedy('gpt-bf16-weights: bf16 greedy token, shortfall from the reference\'s best logit / scale', cfg, params, prompt, got, BF16_TIE);
    model.dispose();
  });
}

test.run();
