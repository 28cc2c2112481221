// Every error code: listed once in lib/errors.ts, documented in the table of docs/errors.md, and
// raised by a real failure of the kind the table describes (one test per code).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ERROR_CODES, GPT, HeadgradError, MemoryError, HeadgradRangeError, HeadgradTypeError, CheckpointError, SftDivergedError, SftAbortedError, backendInfo,
  isHeadgradError, readCheckpoint, readPattern, readReport, readSamples, sft, tokenizerForModel, ChatTemplate, type HeadgradErrorCode,
} from '../lib/index.js';
import { nnls } from '../lib/utils.js';
import { checkRunState } from '../lib/sft_state.js';
import { requireTask } from '../lib/commands/inputs.js';
import { fileSuite } from '../lib/reproduce/suite.js';
import { makePlan } from '../lib/reproduce/plan.js';
import { Torch } from '../lib/bench/peers.js';
import { readTrace } from '../lib/telemetry/trace_file.js';
import { Matrix } from 'ml-matrix';
import { tokenizer, tinyModel, easyTask } from './helpers/tiny.js';
import { suiteTempDir } from './helpers/temp_dir.js';

const root = path.resolve(import.meta.dirname, '..');
const dir = suiteTempDir(test, 'errors');
const f = (name: string) => path.join(dir, name);

/** The error `run` throws or rejects with; fails the test if it succeeds. */
async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (e) {
    return e;
  }
  assert.unreachable('expected an error');
}

function expectCode(e: unknown, code: HeadgradErrorCode, cls: Function): void {
  assert.ok(e instanceof cls, `expected a ${cls.name}, got ${String(e)}`);
  assert.is((e as { code: string }).code, code, String(e));
  assert.ok(isHeadgradError(e));
}

test('the docs table lists exactly the codes of lib/errors.ts, in order, each with its class', () => {
  const doc = readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `(ERR_[A-Z_]+)` \| `(\w+)` \|/gm)].map((m) => m[1]);
  assert.equal(rows, [...ERROR_CODES]);
});

// One real failure per code.
const cases: Record<HeadgradErrorCode, () => Promise<void>> = {
  ERR_HEADGRAD_INVALID_ARG_TYPE: async () => {
    expectCode(await caught(() => GPT.create(null as never)), 'ERR_HEADGRAD_INVALID_ARG_TYPE', TypeError);
    // the addon's own TypeError comes out coded too
    const { native } = await import('../lib/native.js');
    expectCode(await caught(() => native.GPTModel.create(null as never)), 'ERR_HEADGRAD_INVALID_ARG_TYPE', HeadgradTypeError);
  },
  ERR_HEADGRAD_OUT_OF_RANGE: async () => {
    const m = await tinyModel();
    expectCode(await caught(() => m.forward(new Int32Array(4).fill(999), { batch: 1, seqLen: 4 })), 'ERR_HEADGRAD_OUT_OF_RANGE', RangeError);
    expectCode(await caught(() => m.step({ lr: -1 })), 'ERR_HEADGRAD_OUT_OF_RANGE', HeadgradRangeError);
    m.dispose();
  },
  ERR_HEADGRAD_DEVICE_UNAVAILABLE: async () => {
    if (backendInfo().cuda.available) return; // a GPU is there: 'cuda' cannot fail
    expectCode(await caught(() => tinyModelOn('cuda')), 'ERR_HEADGRAD_DEVICE_UNAVAILABLE', HeadgradError);
  },
  ERR_HEADGRAD_MODEL_STATE: async () => {
    const m = await tinyModel();
    const pending = m.forward(new Int32Array(4), { batch: 1, seqLen: 4, targets: new Int32Array(4) });
    expectCode(await caught(() => m.exportParametersSync()), 'ERR_HEADGRAD_MODEL_STATE', HeadgradError);
    await pending;
    m.dispose();
    expectCode(await caught(() => m.backward()), 'ERR_HEADGRAD_MODEL_STATE', HeadgradError);
  },
  ERR_HEADGRAD_MEMORY: async () => {
    const saved = { ...process.env };
    process.env.HEADGRAD_MEMORY_AVAILABLE = '1000000';
    delete process.env.HEADGRAD_MEMORY_CHECK;
    try {
      const e = await caught(() => GPT.create({ vocabSize: 50000, maxSeqLen: 64, layers: 2, heads: 4, dim: 256, device: 'cpu' }));
      expectCode(e, 'ERR_HEADGRAD_MEMORY', MemoryError);
    } finally {
      process.env.HEADGRAD_MEMORY_AVAILABLE = saved.HEADGRAD_MEMORY_AVAILABLE;
      if (saved.HEADGRAD_MEMORY_AVAILABLE === undefined) delete process.env.HEADGRAD_MEMORY_AVAILABLE;
      if (saved.HEADGRAD_MEMORY_CHECK !== undefined) process.env.HEADGRAD_MEMORY_CHECK = saved.HEADGRAD_MEMORY_CHECK;
    }
  },
  ERR_HEADGRAD_ENGINE: async () => {
    // HEADGRAD_TEST_FAIL_OUTPUT_ALLOC=1 (native/addon/async_job.h) fails every output allocation.
    const script = `
      import { GPT } from './lib/index.js';
      const m = await GPT.create({ vocabSize: 11, maxSeqLen: 8, layers: 1, heads: 2, dim: 8, device: 'cpu' });
      const t = new Int32Array(8).fill(1);
      const e = await m.forward(t, { batch: 1, seqLen: 8, targets: t, returnLogits: true }).catch((e) => e);
      console.log(JSON.stringify({ name: e.name, code: e.code }));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root, encoding: 'utf8', env: { ...process.env, HEADGRAD_TEST_FAIL_OUTPUT_ALLOC: '1' }, timeout: 60_000,
    });
    assert.is(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim().split('\n').at(-1)!), { name: 'HeadgradError', code: 'ERR_HEADGRAD_ENGINE' });
  },
  ERR_HEADGRAD_PLATFORM: async () => {
    const script = `
      import { backendInfo } from './lib/index.js';
      try { backendInfo(); } catch (e) { console.log(JSON.stringify({ code: e.code, headgrad: e.name })); }`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root, encoding: 'utf8', env: { ...process.env, HEADGRAD_ADDON: f('no-such-addon.node') }, timeout: 60_000,
    });
    assert.is(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim()), { code: 'ERR_HEADGRAD_PLATFORM', headgrad: 'HeadgradError' });
  },
  ERR_HEADGRAD_CHECKPOINT: async () => {
    writeFileSync(f('junk.safetensors'), Buffer.from('this is not a checkpoint at all'));
    expectCode(await caught(() => readCheckpoint(f('junk.safetensors'))), 'ERR_HEADGRAD_CHECKPOINT', CheckpointError);
  },
  ERR_HEADGRAD_TOKENIZER: async () => {
    mkdirSync(f('llama-no-tokenizer'), { recursive: true });
    writeFileSync(f('llama-no-tokenizer/config.json'), JSON.stringify({ model_type: 'llama', vocab_size: 300 }));
    expectCode(await caught(() => tokenizerForModel(f('llama-no-tokenizer'))), 'ERR_HEADGRAD_TOKENIZER', HeadgradError);
    expectCode(await caught(() => new ChatTemplate('{% if %}', {})), 'ERR_HEADGRAD_TOKENIZER', HeadgradError);
  },
  ERR_HEADGRAD_DATA: async () => {
    writeFileSync(f('bad.jsonl'), '{"prompt": "a", "response": "b"}\n{not json}\n');
    expectCode(await caught(() => readSamples(f('bad.jsonl'))), 'ERR_HEADGRAD_DATA', HeadgradError);
  },
  ERR_HEADGRAD_PATTERN_FILE: async () => {
    writeFileSync(f('pattern.json'), JSON.stringify({ layers: 2 }));
    expectCode(await caught(() => readPattern(f('pattern.json'))), 'ERR_HEADGRAD_PATTERN_FILE', HeadgradError);
  },
  ERR_HEADGRAD_TRACE_FILE: async () => {
    writeFileSync(f('trace.jsonl'), '{"step": 1}\n');
    expectCode(await caught(() => readTrace(f('trace.jsonl'))), 'ERR_HEADGRAD_TRACE_FILE', HeadgradError);
  },
  ERR_HEADGRAD_REPORT: async () => {
    expectCode(await caught(() => readReport(f('no-report.json'))), 'ERR_HEADGRAD_REPORT', HeadgradError);
  },
  ERR_HEADGRAD_TASKS: async () => {
    mkdirSync(f('tasks-empty'), { recursive: true });
    expectCode(await caught(() => fileSuite(f('tasks-empty'), makePlan('quick'))), 'ERR_HEADGRAD_TASKS', HeadgradError);
  },
  ERR_HEADGRAD_NO_CONVERGENCE: async () => {
    // The fit needs an iteration; the guard allows none.
    expectCode(await caught(() => nnls(new Matrix([[1, 0], [0, 1]]), [2, 1], { maxIterations: 0 })), 'ERR_HEADGRAD_NO_CONVERGENCE', HeadgradError);
    assert.equal(Array.from(nnls(new Matrix([[1, 0], [0, 1]]), [2, 1]).x), [2, 1]);
  },
  ERR_HEADGRAD_SFT_DIVERGED: async () => {
    const model = await tinyModel(7);
    const nanLoss = new Proxy(model, {
      get(target, key) {
        if (key === 'forward') return async () => ({ loss: NaN });
        const v = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const e = await caught(() => sft(nanLoss, easyTask(), { tokenizer, steps: 3, batchSize: 4, lr: 1e-3, progress: false }));
    expectCode(e, 'ERR_HEADGRAD_SFT_DIVERGED', SftDivergedError);
    assert.is((e as SftDivergedError).step, 1);
    model.dispose();
  },
  ERR_HEADGRAD_SFT_RESUME: async () => {
    expectCode(await caught(() => checkRunState('x.safetensors', { step: 1 }, { steps: 2 })), 'ERR_HEADGRAD_SFT_RESUME', HeadgradError);
  },
  ERR_HEADGRAD_ABORTED: async () => {
    const model = await tinyModel(8);
    const stop = new AbortController();
    stop.abort();
    const e = await caught(() => sft(model, easyTask(), { tokenizer, steps: 3, batchSize: 4, lr: 1e-3, progress: false, signal: stop.signal,
      checkpoint: { path: f('aborted.safetensors') } }));
    expectCode(e, 'ERR_HEADGRAD_ABORTED', SftAbortedError);
    assert.is((e as SftAbortedError).step, 0);
    assert.is((e as SftAbortedError).checkpoint, f('aborted.safetensors'));
    assert.ok(existsSync(f('aborted.safetensors')), 'the training checkpoint of the stop was written');
    model.dispose();
  },
  ERR_HEADGRAD_USAGE: async () => {
    expectCode(await caught(() => requireTask('no-such-task')), 'ERR_HEADGRAD_USAGE', HeadgradError);
  },
  ERR_HEADGRAD_PEER: async () => {
    // A "python" that exits at once: the request finds the process gone.
    const torch = new Torch('/bin/false');
    expectCode(await caught(() => torch.call({ op: 'init', threads: 1 })), 'ERR_HEADGRAD_PEER', HeadgradError);
    torch.close();
  },
};

function tinyModelOn(device: 'cuda') {
  return GPT.create({ vocabSize: 11, maxSeqLen: 8, layers: 1, heads: 2, dim: 8, device });
}

for (const code of ERROR_CODES) test(`${code} is raised where the table says`, cases[code]);

test.run();
