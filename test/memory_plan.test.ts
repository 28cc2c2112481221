// The memory planner (lib/memory_plan.ts): its estimate against the peak RSS a child process
// measures, the refusal before allocation (a faked limit, and a real `ulimit -v` child), and
// `headgrad info --model`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  GPT, MemoryError, availableMemory, estimateMemory, parameterCount, parameterLayout, type GPTConfig,
} from '../lib/index.js';
import { RUNTIME_BYTES, trainedParameters } from '../lib/memory_plan.js';
import { writeHfLlamaFolder } from './helpers/hf_llama_folder.js';
import { rejects } from './helpers/rejects.js';
import { suiteTempDir } from './helpers/temp_dir.js';

const dir = suiteTempDir(test, 'memory-plan');
const llama = (o: Partial<GPTConfig>): GPTConfig => ({
  vocabSize: 8192, maxSeqLen: 128, layers: 6, heads: 12, kvHeads: 4, dim: 768, ffnDim: 2048, norm: 'rmsnorm',
  positions: 'rope', mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false, ...o,
});
// Llama-3.2-1B's shape (weights never allocated here: only refused or estimated)
const oneB = llama({ vocabSize: 128256, maxSeqLen: 2048, layers: 16, heads: 32, kvHeads: 8, dim: 2048, ffnDim: 8192, tiedEmbeddings: true });

function node(args: string[], env: Record<string, string> = {}, shell?: string) {
  const r = shell
    ? spawnSync('bash', ['-c', `${shell}; exec "$0" "$@"`, process.execPath, '--import', 'tsx', ...args], { encoding: 'utf8', env: { ...process.env, ...env } })
    : spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const old = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const set = (e: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(e)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  };
  set(env);
  const restore = () => set(old);
  try {
    const r = fn();
    if (r instanceof Promise) return r.finally(restore) as T;
    restore();
    return r;
  } catch (e) {
    restore();
    throw e;
  }
}

test('weights per precision and the trained slices: the arithmetic of the agreed storage', () => {
  const layout = parameterLayout(oneB);
  const n = parameterCount(oneB);
  const size = (name: string) => layout.find((t) => t.name === name)!.size;
  const matrices = size('wte') + size('qkvw') + size('attprojw') + size('fcw') + size('fcprojw');
  const tables = 2 * 2048 * 32 * 4; // RoPE cos and sin [maxSeqLen, headDim/2]
  assert.is(estimateMemory(oneB, 'f32').weights, 4 * n + tables);
  assert.is(estimateMemory(oneB, 'bf16').weights, 2 * n + 4 * (n - matrices) + tables);
  // 8 heads: 64 Q rows + 64 output columns + (worst case) 64 K and 64 V rows of 2048 each
  assert.is(trainedParameters(oneB, 'heads', 8), 8 * 4 * 64 * 2048);
  assert.is(trainedParameters(oneB, 'heads+mlp', 8), 8 * 4 * 64 * 2048 + size('fcw') + size('fcprojw'));
  assert.is(trainedParameters(oneB, 'full', 8), n);
  assert.is(estimateMemory(oneB, 'bf16', { mode: 'heads', trainedHeads: 8 }).training, 16 * 8 * 4 * 64 * 2048);
  assert.is(estimateMemory(oneB, 'f32', { mode: 'heads' }).training, 12 * n, 'the f32 engine keeps whole-model gradient and moments');
  assert.is(estimateMemory(oneB, 'f32').activations, 0, 'no batch: the weights alone');
  assert.ok(estimateMemory(oneB, 'f32', { batch: 4, seqLen: 128 }).activations > 4 * 128 * 128256 * 4, 'the logits alone are 263 MB');
});

test('the estimate is the engine\'s own count: residentBytes after a forward, backward and step (f32 full, bf16 heads; frozen: scores-only)', async () => {
  const config = llama({ vocabSize: 300, layers: 3, heads: 8, kvHeads: 4, dim: 64, ffnDim: 96 });
  const B = 2, T = 16;
  const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % 300);
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 11) % 300);
  const gates = config.layers * config.heads * 4; // the head gates: not counted (a few KB)
  // 4 heads in 4 different (layer, k/v group) pairs: the worst case the planner assumes
  const heads = new Uint8Array(config.layers * config.heads);
  for (const [l, h] of [[0, 0], [0, 2], [1, 5], [2, 7]]) heads[l! * config.heads + h!] = 1;
  for (const [precision, mode] of [['f32', 'full'], ['bf16', 'heads'], ['f32', 'frozen'], ['bf16', 'frozen']] as const) {
    using model = await GPT.create({ ...config, precision, device: 'cpu' });
    if (model.precision !== precision) continue; // no bf16 on this CPU: nothing to compare
    if (mode === 'heads') model.setTrainable({ trainableHeads: heads });
    const scoresOnly = mode === 'frozen';
    await model.forward(tokens, { batch: B, seqLen: T, targets, scoresOnly });
    await model.backward({ scoresOnly });
    if (!scoresOnly) await model.step({ lr: 1e-3 });
    const r = model.residentBytes();
    const e = estimateMemory(config, precision, { batch: B, seqLen: T, mode, trainedHeads: 4 });
    assert.is(e.weights, r.weightsF32 + r.weightsBf16 + r.vectorsF32 + r.other - gates, `${precision} weights`);
    assert.is(e.activations, r.activations, `${precision} activations`);
    assert.is(e.training, r.master + r.grads + r.moments, `${precision} ${mode} training state`);
  }
});

test('longrope: the estimate counts the short and long tables the engine holds', async () => {
  // hs 8: four factors per list; the short tables stop at originalMaxPositions, the long ones
  // exist only when maxSeqLen passes it
  for (const originalMaxPositions of [48, 128, 512]) {
    const config = llama({ vocabSize: 300, layers: 1, heads: 8, kvHeads: 4, dim: 64, ffnDim: 96, ropeScaling: {
      type: 'longrope', shortFactor: [1, 1, 1.1, 1.2], longFactor: [2, 3, 5, 9], originalMaxPositions, attentionFactor: 1.2 } });
    using model = await GPT.create({ ...config, device: 'cpu' });
    const r = model.residentBytes();
    const gates = config.layers * config.heads * 4;
    const rows = Math.min(128, originalMaxPositions) + (originalMaxPositions < 128 ? 128 : 0);
    assert.is(r.other - gates, 2 * rows * 4 * 4, `originalMaxPositions ${originalMaxPositions}: the engine's tables`);
    assert.is(estimateMemory(config, 'f32').weights, r.weightsF32 + r.other - gates, `originalMaxPositions ${originalMaxPositions}`);
  }
});

// The margin stated in lib/memory_plan.ts: the model's part of the estimate (weights, training
// state, activations) is within 5% + 16 MB of the RSS the model added, and the whole estimate
// (with the runtime allowance) is at least the measured peak.
for (const [precision, mode] of [['f32', 'frozen'], ['f32', 'full'], ['bf16', 'frozen']] as const) {
  test(`the estimate matches the measured peak RSS of a ${mode} forward/backward${mode === 'full' ? ' and step' : ''} (${precision})`, () => {
    const config = llama({});
    const r = node(['test/helpers/memory_child.ts', JSON.stringify({ config, precision, mode, batch: 4, seqLen: 128 })]);
    assert.is(r.status, 0, r.stderr);
    const { base, peak, estimate } = JSON.parse(r.stdout) as { base: number; peak: number; estimate: ReturnType<typeof estimateMemory> };
    const model = estimate.total - estimate.runtime;
    const measured = peak - base;
    const mb = (x: number) => `${(x / 1e6).toFixed(1)} MB`;
    assert.ok(Math.abs(measured - model) <= 0.05 * model + 16e6,
      `the model added ${mb(measured)} of RSS; the estimate says ${mb(model)} (weights ${mb(estimate.weights)}, training ${mb(estimate.training)}, activations ${mb(estimate.activations)})`);
    assert.ok(peak <= estimate.total, `peak RSS ${mb(peak)} exceeds the estimate ${mb(estimate.total)} (runtime allowance ${mb(RUNTIME_BYTES)}, measured ${mb(base)} before the model)`);
  });
}

test('a model that cannot fit is refused before allocation, with numbers and bf16 as the way out', async () => {
  const tiny = llama({ vocabSize: 64, layers: 2, heads: 4, kvHeads: 2, dim: 32, ffnDim: 48 });
  const f32 = estimateMemory(oneB, 'f32').total, bf16 = estimateMemory(oneB, 'bf16').total;
  await withEnv({ HEADGRAD_MEMORY_AVAILABLE: String(Math.round((f32 + bf16) / 2)), HEADGRAD_MEMORY_CHECK: undefined }, async () => {
    const err = await GPT.create({ ...oneB, device: 'cpu' }).then(() => null, (e: unknown) => e);
    assert.instance(err, MemoryError);
    assert.match((err as Error).message,
      /^GPT\.create: needs 5\.\d GB as f32 \(weights 4\.9 GB\); \d\.\d GB available \(HEADGRAD_MEMORY_AVAILABLE\); precision 'bf16' needs 2\.\d GB\. HEADGRAD_MEMORY_CHECK=off skips this check\.$/);
    // the same through a loader, before any weight is read
    const folder = path.join(dir, 'tiny');
    await writeHfLlamaFolder(folder, 'llama', tiny, new Float32Array(parameterCount(tiny)).fill(0.5));
    await withEnv({ HEADGRAD_MEMORY_AVAILABLE: '1000000' }, () =>
      rejects(GPT.load(folder, { device: 'cpu' }), /^GPT\.load: needs 0\.2 GB as f32 \(weights 0\.0 GB\); 0\.0 GB available \(HEADGRAD_MEMORY_AVAILABLE\); precision 'bf16' would need 0\.2 GB, which does not fit either\./));
    // activations for the batch count when the caller says what it will run
    const withBatch = estimateMemory(tiny, 'f32', { batch: 64, seqLen: 128 });
    await withEnv({ HEADGRAD_MEMORY_AVAILABLE: String(withBatch.total - 1) }, async () => {
      await rejects(GPT.load(folder, { device: 'cpu', workload: { batch: 64, seqLen: 128 } }), /activations 0\.\d GB\).*; a smaller batch or shorter sequences need fewer activations\./);
      using m = await GPT.load(folder, { device: 'cpu' }); // the weights alone fit
      assert.is(m.exportParametersSync()[0], 0.5);
    });
  });
  // the documented way past the check
  await withEnv({ HEADGRAD_MEMORY_AVAILABLE: '1', HEADGRAD_MEMORY_CHECK: 'off' }, async () => {
    using m = await GPT.create({ ...tiny, device: 'cpu' });
    assert.ok(m.parameterCount > 0);
  });
  await withEnv({ HEADGRAD_MEMORY_AVAILABLE: 'lots' }, () =>
    rejects(GPT.create({ ...tiny, device: 'cpu' }), /HEADGRAD_MEMORY_AVAILABLE: expected a number of bytes, got "lots"/));
});

test('a forward whose larger activation arena does not fit is refused, naming the batch that fits', async () => {
  const tiny = llama({ vocabSize: 512, layers: 2, heads: 4, kvHeads: 2, dim: 32, ffnDim: 48 });
  using model = await GPT.create({ ...tiny, device: 'cpu' });
  // full forwards (a full backward may follow them): the full arena
  const acts = (batch: number, seqLen: number, mode: 'full' | 'frozen' = 'full') => estimateMemory(tiny, 'f32', { batch, seqLen, mode }).activations;
  const tokens = (n: number) => new Int32Array(n).fill(1);
  const targets = (n: number) => new Int32Array(n).fill(2);
  // room for 3 rows of 64 tokens, not 8
  await withEnv({ HEADGRAD_MEMORY_AVAILABLE: String(acts(3, 64) + 1000), HEADGRAD_MEMORY_CHECK: undefined }, async () => {
    await rejects(model.forward(tokens(8 * 64), { batch: 8, seqLen: 64, targets: targets(8 * 64) }),
      /^GPT\.forward: batch 8 × 64 tokens needs 0\.\d GB more for activations; 0\.\d GB available \(HEADGRAD_MEMORY_AVAILABLE\); batch 3 fits\./);
    await model.forward(tokens(3 * 64), { batch: 3, seqLen: 64, targets: targets(3 * 64) });
    // the arena for 3 rows exists: growing to 5 needs only the difference
    const room = acts(5, 64) - acts(3, 64) + 1000;
    await withEnv({ HEADGRAD_MEMORY_AVAILABLE: String(room) }, () => model.forward(tokens(5 * 64), { batch: 5, seqLen: 64, targets: targets(5 * 64) }));
    await withEnv({ HEADGRAD_MEMORY_AVAILABLE: '1' }, async () => {
      await model.forward(tokens(4 * 64), { batch: 4, seqLen: 64, targets: targets(4 * 64) }); // no growth: no check
      await rejects(model.forward(tokens(6 * 64), { batch: 6, seqLen: 64 }), /needs 0\.0 GB more for activations; .*; batch 5 fits\./);
      using fresh = await withEnv({ HEADGRAD_MEMORY_CHECK: 'off' }, () => GPT.create({ ...tiny, device: 'cpu' }));
      await rejects(fresh.forward(tokens(2 * 64), { batch: 2, seqLen: 64 }), /batch 2 × 64 tokens needs .*; even batch 1 does not fit: use shorter sequences\./);
    });
  });
  // scores-only passes plan the smaller arena; a full pass over as many rows then re-plans, and is checked
  using frozen = await GPT.create({ ...tiny, device: 'cpu' });
  assert.ok(acts(4, 64, 'frozen') < acts(4, 64), 'the scores-only arena is smaller');
  const scoresOnly = { batch: 4, seqLen: 64, targets: targets(4 * 64), scoresOnly: true };
  await withEnv({ HEADGRAD_MEMORY_AVAILABLE: String(acts(4, 64, 'frozen') + 1000), HEADGRAD_MEMORY_CHECK: undefined }, async () => {
    await frozen.forward(tokens(4 * 64), scoresOnly);
    await frozen.backward({ scoresOnly: true });
    assert.is(frozen.residentBytes().activations, acts(4, 64, 'frozen'));
  });
  const replan = acts(4, 64) - acts(4, 64, 'frozen'); // the full arena replaces the scores-only one
  await withEnv({ HEADGRAD_MEMORY_AVAILABLE: String(replan - 1000), HEADGRAD_MEMORY_CHECK: undefined }, async () => {
    await rejects(frozen.forward(tokens(4 * 64), { batch: 4, seqLen: 64, targets: targets(4 * 64) }),
      /^GPT\.forward: batch 4 × 64 tokens needs \d\.\d GB more for activations; \d\.\d GB available \(HEADGRAD_MEMORY_AVAILABLE\); (batch [1-3] fits|even batch 1)/);
    await frozen.forward(tokens(2 * 64), { ...scoresOnly, batch: 2, targets: targets(2 * 64) }); // covered: no check
  });
  await withEnv({ HEADGRAD_MEMORY_AVAILABLE: String(replan + 1000), HEADGRAD_MEMORY_CHECK: undefined }, async () => {
    await frozen.forward(tokens(4 * 64), { batch: 4, seqLen: 64, targets: targets(4 * 64) });
    assert.is(frozen.residentBytes().activations, acts(4, 64));
    await frozen.forward(tokens(4 * 64), scoresOnly); // the full arena serves scores-only passes
    assert.is(frozen.residentBytes().activations, acts(4, 64));
  });
});

test('a real address-space limit (ulimit -v): the child gets the clear refusal, not a crash', () => {
  // The limit is set relative to what Node and tsx map before any model (tsx's WebAssembly
  // reserves many GB of address space), so that a 1B f32 model cannot fit and a bf16 one can.
  const script = `import { GPT } from './lib/index.js';
    import { readFileSync } from 'node:fs';
    if (process.env.PROBE) console.log(/VmSize:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
    else await GPT.create(${JSON.stringify({ ...oneB, device: 'cpu' })}).then(() => console.log('created'), (e) => { console.log(e.name + ': ' + e.message); process.exitCode = 3; });`;
  const probe = node(['--input-type=module', '-e', script], { PROBE: '1' });
  if (probe.status !== 0 || !/^\d+/.test(probe.stdout)) {
    console.log(`  (skipped: no /proc/self/status: ${probe.stderr})`);
    return;
  }
  const room = 4e6; // kB: 4 GB over the probe; the 1B model needs 5.2 GB as f32, 2.7 GB as bf16
  const limit = Number(probe.stdout.trim()) + room;
  const r = node(['--input-type=module', '-e', script], { HEADGRAD_MEMORY_CHECK: '', HEADGRAD_MEMORY_AVAILABLE: '' }, `ulimit -v ${Math.round(limit)}`);
  assert.is(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.is(r.status, 3, `exit ${r.status}: ${r.stdout} ${r.stderr}`);
  // (on a machine with less than the room free, MemAvailable or the cgroup is the tighter limit)
  const source = (availableMemory()?.bytes ?? Infinity) > room * 1024 * 1.2 ? 'ulimit -v' : '[^)]+';
  assert.match(r.stdout, new RegExp(`^MemoryError: GPT\\.create: needs 5\\.\\d GB as f32 \\(weights 4\\.9 GB\\); \\d\\.\\d GB available \\(${source}\\); precision 'bf16' `));
});

test('availableMemory: the smallest of MemAvailable, the cgroup and address-space limits, and the override', () => {
  const a = availableMemory();
  if (!a) return; // no /proc/meminfo and no limits: the check is skipped, as documented
  const meminfo = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  if (meminfo) assert.ok(a.bytes <= Number(meminfo[1]) * 1024 * 1.05, `${a.bytes} exceeds MemAvailable`);
  withEnv({ HEADGRAD_MEMORY_AVAILABLE: '12345' }, () => assert.equal(availableMemory(), { bytes: 12345, source: 'HEADGRAD_MEMORY_AVAILABLE' }));
});

test('headgrad info --model: config, parameters and the estimate per precision and mode beside what is available', async () => {
  const folder = path.join(dir, 'info-1b');
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(folder, { recursive: true });
  // config.json only: info reads no weights
  await writeFile(path.join(folder, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 128256, max_position_embeddings: 2048, num_hidden_layers: 16,
    num_attention_heads: 32, num_key_value_heads: 8, hidden_size: 2048, intermediate_size: 8192, hidden_act: 'silu', rms_norm_eps: 1e-5,
    rope_theta: 500000, tie_word_embeddings: true, attention_bias: false, mlp_bias: false,
  }));
  const frozenF32 = estimateMemory(oneB, 'f32', { batch: 4, seqLen: 128 }).total;
  const frozenBf16 = estimateMemory(oneB, 'bf16', { batch: 4, seqLen: 128 }).total;
  const between = String(Math.round((frozenF32 + frozenBf16) / 2));
  const text = node(['lib/cli.ts', 'info', '--model', folder], { HEADGRAD_MEMORY_AVAILABLE: between });
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, /config {6}V 128256, P 2048, L 16, H 32, KV 8, C 2048, F 8192, rmsnorm, rope, swiglu, tied/);
  assert.match(text.stdout, /parameters  1,235,814,400/);
  assert.match(text.stdout, /available   \d\.\d GB \(HEADGRAD_MEMORY_AVAILABLE\)/);
  assert.match(text.stdout, /\n {2}frozen +\d\.\d GB no +\d\.\d GB fits\n/);
  assert.match(text.stdout, /only precision 'bf16' fits for frozen, heads: pass --precision bf16/);
  const json = node(['lib/cli.ts', 'info', '--model', folder, '--json', '--batch', '2', '--seq-len', '64', '--top-k', '4']);
  assert.is(json.status, 0, json.stderr);
  const r = JSON.parse(json.stdout);
  assert.is(r.parameters, 1235814400);
  assert.equal(r.workload, { batch: 2, seqLen: 64, trainedHeads: 4 });
  assert.is(r.estimates.length, 8);
  assert.equal(r.estimates.find((e: { precision: string; mode: string }) => e.precision === 'bf16' && e.mode === 'heads'),
    estimateMemory(oneB, 'bf16', { batch: 2, seqLen: 64, mode: 'heads', trainedHeads: 4 }));
  const missing = node(['lib/cli.ts', 'info', '--model', path.join(dir, 'nothing')]);
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /headgrad: --model: no such file or folder/);
});

test.run();
