// Resumable SFT and its failure paths: AdamW state export/import, the engine refusing a step
// with non-finite gradients, sft stopping at the first non-finite loss or gradient norm with
// the last good checkpoint left as it was, and a run killed (SIGKILL) after a checkpoint then
// resumed giving the same loss trajectory and a byte-identical final file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { backendInfo, GPT, readCheckpoint, sft } from '../lib/index.js';
import { readTrainingCheckpoint } from '../lib/checkpoint/training.js';
import { SftDivergedError } from '../lib/sft.js';
import { tokenizer, tinyModel, easyTask } from './helpers/tiny.js';
import { suiteTempDir } from './helpers/temp_dir.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = suiteTempDir(test, 'resume');
const f = (name: string) => path.join(dir, name);

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.is(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.unreachable(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

// One training step on a fixed batch.
async function trainStep(m: GPT, lr = 1e-2): Promise<number> {
  const tokens = Int32Array.from({ length: 16 }, (_, i) => (i * 37) % 260);
  const targets = Int32Array.from({ length: 16 }, (_, i) => (i * 11 + 5) % 260);
  const { loss } = await m.forward(tokens, { batch: 2, seqLen: 8, targets });
  await m.backward();
  await m.step({ lr, weightDecay: 0.1 });
  return loss;
}

test('exportOptimizerState/importOptimizerState: a model restored from them continues bit for bit', async () => {
  const a = await tinyModel(4);
  const zero = a.exportOptimizerState();
  assert.is(zero.step, 0);
  assert.ok(zero.m.every((x) => x === 0) && zero.v.every((x) => x === 0), 'zero moments before the first step');
  for (let i = 0; i < 3; i++) await trainStep(a);
  const state = a.exportOptimizerState();
  assert.is(state.step, 3);
  assert.ok(state.v.some((x) => x > 0));

  const b = await tinyModel(99);
  b.importParameters(a.exportParameters());
  b.importOptimizerState(state);
  sameBits(b.exportOptimizerState().m, state.m, 'm round trip');
  const [la, lb] = [await trainStep(a), await trainStep(b)];
  assert.is(la, lb);
  sameBits(b.exportParameters(), a.exportParameters(), 'parameters after the next step');

  const c = await tinyModel(99);
  assert.throws(() => c.importOptimizerState({ ...state, step: -1 }), /optimizer state.step: expected an integer in \[0, /);
  assert.throws(() => c.importOptimizerState({ ...state, v: new Float32Array(state.v.length).fill(-1) }), /optimizer state.v\[0\].*>= 0/);
  assert.throws(() => c.importOptimizerState({ ...state, m: new Float32Array(3) }), /optimizer state.m: expected length/);
  for (const m of [a, b, c]) m.dispose();
});

test('step() refuses gradients that are not finite and changes nothing', async () => {
  const m = await tinyModel(5);
  await trainStep(m);
  const before = m.exportParameters();
  const opt = m.exportOptimizerState();
  const tokens = Int32Array.from({ length: 16 }, (_, i) => i % 260);
  // Loss weights at the float32 maximum overflow the backward.
  await m.forward(tokens, { batch: 2, seqLen: 8, targets: tokens, lossWeights: new Float32Array(16).fill(3.4e38) });
  await m.backward();
  let err: Error | undefined;
  await m.step({ lr: 1e-2 }).catch((e: Error) => (err = e));
  assert.ok(err instanceof RangeError, `rejected: ${err?.message}`);
  assert.match(err!.message, /step: the gradients are not finite \(global norm (Infinity|NaN)\); the parameters and the optimizer state were left unchanged/);
  sameBits(m.exportParameters(), before, 'parameters');
  assert.is(m.exportOptimizerState().step, opt.step);
  sameBits(m.exportOptimizerState().v, opt.v, 'v');
  m.dispose();
});

// A GPT whose forward misbehaves at one call, to inject a failure mid-run.
function faulty(model: GPT, atCall: number, kind: 'nan-loss' | 'inf-gradients'): GPT {
  let calls = 0;
  return new Proxy(model, {
    get(target, key) {
      if (key === 'forward') {
        return async (tokens: Int32Array, o: Parameters<GPT['forward']>[1]) => {
          if (++calls !== atCall || !o.targets) return target.forward(tokens, o);
          if (kind === 'nan-loss') return { loss: NaN };
          // The engine really computes non-finite gradients; the reported loss is made finite so
          // that the gradient-norm check is the one that stops the run.
          await target.forward(tokens, { ...o, lossWeights: new Float32Array(tokens.length).fill(3.4e38) });
          return { loss: 1 };
        };
      }
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

for (const kind of ['nan-loss', 'inf-gradients'] as const) {
  test(`sft stops at the first non-finite ${kind === 'nan-loss' ? 'loss' : 'gradient norm'}, keeping the last good checkpoint`, async () => {
    const model = await tinyModel(7);
    const file = f(`diverge-${kind}.safetensors`);
    const opts = { tokenizer, steps: 10, batchSize: 4, lr: 3e-3, checkpoint: { path: file, every: 2 } };
    // Training calls forward once per step (no eval): call 5 is step 5, after the step-4 checkpoint.
    const err = await sft(faulty(model, 5, kind), easyTask(), opts).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SftDivergedError, String(err));
    const e = err as SftDivergedError;
    assert.is(e.step, 5);
    assert.equal(e.lastCheckpoint, { path: file, step: 4 });
    assert.match(e.message, kind === 'nan-loss' ? /sft: step 5: the loss is NaN; stopped before that step changed the model/
      : /sft: step 5: the gradient norm is (Infinity|NaN); stopped before that step changed the model/);
    assert.match(e.message, /The last good checkpoint is .*diverge.* \(step 4\), left as it was/);
    const ck = await readTrainingCheckpoint(file);
    assert.is((ck.state as { step: number }).step, 4);
    assert.is(ck.optimizer.step, 4);
    // The in-memory model is the step-4 model: the failed step changed nothing.
    sameBits(model.exportParameters(), ck.params, 'model = last checkpoint');
    // A training checkpoint loads anywhere a plain one does.
    const plain = await readCheckpoint(file);
    sameBits(plain.params, ck.params, 'plain read');
    const loaded = await GPT.load(file);
    sameBits(loaded.exportParameters(), ck.params, 'GPT.load');
    loaded.dispose();
    model.dispose();
  });
}

test('sft(model, data, { resume }) continues a library run bit for bit and refuses other options', async () => {
  const data = easyTask();
  const base = { tokenizer, steps: 6, batchSize: 4, lr: 3e-3, seed: 2, eval: { data: data.slice(0, 4), every: 2 } };
  const full = await tinyModel(8);
  const fullHist = await sft(full, data, { ...base, checkpoint: { path: f('lib-full.safetensors'), every: 2 } });

  const part = await tinyModel(8);
  let stopAt4 = false;
  await sft(part, data, {
    ...base, checkpoint: { path: f('lib-part.safetensors'), every: 2 },
    onCheckpoint: (c) => {
      if (c.step === 4) {
        stopAt4 = true;
        throw new Error('stop here');
      }
    },
  }).catch((e: Error) => assert.match(e.message, /stop here/));
  assert.ok(stopAt4);
  const resumed = await tinyModel(8); // the base model again: resume restores everything else
  const hist = await sft(resumed, data, { ...base, checkpoint: { path: f('lib-part.safetensors'), every: 2 }, resume: f('lib-part.safetensors') });
  assert.equal(hist.steps, fullHist.steps);
  assert.equal(hist.evals, fullHist.evals);
  sameBits(resumed.exportParameters(), full.exportParameters(), 'parameters');
  assert.ok(readFileSync(f('lib-part.safetensors')).equals(readFileSync(f('lib-full.safetensors'))), 'byte-identical final files');

  const other = await tinyModel(8);
  const err = await sft(other, data, { ...base, lr: 1e-3, resume: f('lib-full.safetensors') }).then(() => null, (e: Error) => e);
  assert.match(err?.message ?? '', /sft: resume .*lib-full.safetensors: the run it continues had lr 0.003, this one has 0.001/);
  const plainFile = f('plain.safetensors');
  await other.save(plainFile);
  const err2 = await sft(other, data, { ...base, resume: plainFile }).then(() => null, (e: Error) => e);
  assert.match(err2?.message ?? '', /plain.safetensors: no training state/);
  for (const m of [full, part, resumed, other]) m.dispose();
});

for (const mode of ['heads', 'full'] as const) {
  test(`a bf16 model (${mode} mode): a resumed sft run (masters + moments of the trainable set) continues bit for bit`, async () => {
    if (!backendInfo().cpu.bf16.available) return console.log(`  skipped: ${backendInfo().cpu.bf16.reason}`);
    const data = easyTask();
    const bf16Model = () => GPT.create({ vocabSize: 260, maxSeqLen: 16, layers: 2, heads: 2, dim: 32, seed: 8, precision: 'bf16' });
    const heads = Uint8Array.of(0, 1, 1, 0);
    const base = { tokenizer, steps: 6, batchSize: 4, lr: 3e-3, seed: 2, ...(mode === 'heads' ? { mode, trainableHeads: heads } : {}) };
    const full = await bf16Model();
    const fullHist = await sft(full, data, { ...base, checkpoint: { path: f(`bf16-${mode}-full.safetensors`), every: 2 } });
    const part = await bf16Model();
    await sft(part, data, {
      ...base, checkpoint: { path: f(`bf16-${mode}-part.safetensors`), every: 2 },
      onCheckpoint: (c) => {
        if (c.step === 4) throw new Error('stop here');
      },
    }).catch((e: Error) => assert.match(e.message, /stop here/));
    const ck = await readTrainingCheckpoint(f(`bf16-${mode}-part.safetensors`));
    const n = full.parameterCount;
    assert.ok(ck.optimizer.master !== undefined, 'the masters are saved');
    if (mode === 'heads') assert.ok(ck.optimizer.m.length < n / 4, `only the trainable set's state (${ck.optimizer.m.length} of ${n})`);
    else assert.is(ck.optimizer.m.length, n);
    const resumed = await bf16Model();
    const hist = await sft(resumed, data, { ...base, checkpoint: { path: f(`bf16-${mode}-part.safetensors`), every: 2 }, resume: f(`bf16-${mode}-part.safetensors`) });
    assert.equal(hist.steps, fullHist.steps);
    sameBits(resumed.exportParameters(), full.exportParameters(), 'parameters');
    assert.ok(readFileSync(f(`bf16-${mode}-part.safetensors`)).equals(readFileSync(f(`bf16-${mode}-full.safetensors`))), 'byte-identical final files');
    for (const m of [full, part, resumed]) m.dispose();
  });
}

test('headgrad sft killed (SIGKILL) after a checkpoint, then --resume: same --history trajectory, byte-identical --out', async () => {
  const base = f('base.safetensors');
  const m = await GPT.create({ vocabSize: 260, maxSeqLen: 48, layers: 2, heads: 2, dim: 32, seed: 3 });
  await m.save(base);
  m.dispose();
  const env = { ...process.env, HEADGRAD_THREADS: '2', HEADGRAD_DEBUG: '' };
  const cliArgs = (out: string, history: string, ...more: string[]) => ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), 'sft',
    '--model', base, '--task', 'reverse', '--samples', '24', '--eval-samples', '6', '--steps', '30', '--batch', '4', '--lr', '3e-3',
    '--eval-every', '5', '--snapshot-every', '10', '--checkpoint-every', '3', '--out', out, '--history', history, ...more];

  const whole = spawnSync(process.execPath, cliArgs(f('whole.safetensors'), f('whole.json')), { cwd: root, env, encoding: 'utf8' });
  assert.is(whole.status, 0, whole.stderr);

  // The same run, killed as soon as its first checkpoint (step 3) is on disk.
  const child = spawn(process.execPath, cliArgs(f('cut.safetensors'), f('cut.json')), { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (/checkpoint at step 3 written/.test(stderr)) child.kill('SIGKILL');
  });
  assert.is(await ended, 'SIGKILL', `the run was not killed mid-way:\n${stderr}`);
  assert.not.ok(existsSync(f('cut.json')), 'the killed run did not finish');
  const atKill = await readTrainingCheckpoint(f('cut.safetensors'));
  const killedStep = (atKill.state as { step: number }).step;
  assert.ok(killedStep >= 3 && killedStep < 30, `checkpoint at step ${killedStep}`);
  assert.ok(statSync(f('cut.safetensors')).size > 0);

  const rest = spawnSync(process.execPath, cliArgs(f('cut.safetensors'), f('cut.json'), '--resume', f('cut.safetensors')), { cwd: root, env, encoding: 'utf8' });
  assert.is(rest.status, 0, rest.stderr);
  const [a, b] = [JSON.parse(readFileSync(f('whole.json'), 'utf8')), JSON.parse(readFileSync(f('cut.json'), 'utf8'))];
  assert.is(a.steps.length, 30);
  assert.equal(b.steps, a.steps, 'loss trajectory');
  assert.equal(b.evals, a.evals, 'evaluations');
  assert.equal(b.snapshots, a.snapshots, 'pattern snapshots');
  assert.ok(readFileSync(f('cut.safetensors')).equals(readFileSync(f('whole.safetensors'))), 'byte-identical final files');
});

test.run();
