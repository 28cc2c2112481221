// Malformed-call fuzzing of the public surfaces: the attention API (TypeScript and the raw
// addon, sync and Promise), the GPT API (create, forward, backward, step, generate, gates,
// parameters, optimizer state, dispose, in random orders) and the checkpoint loaders
// (truncated, garbled and foreign files). Every call must return, throw or reject an Error; a
// crash, an abort or a hang ends this process, which is the failure the caller looks for.
//
//   npx tsx scripts/fuzz.ts [--calls N] [--seconds S] [--seed K] [--children C]
// Runs C child processes (default 4), each for N/C calls or S/C seconds (whichever ends first),
// with seeds K, K+1, ...; prints one line per child and a total "fuzz: N calls, 0 crashes".
// A child that dies prints its seed: `--children 1 --seed <that seed>` repeats it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { attentionBackward, attentionBackwardSync, attentionForward, attentionForwardSync, GPT, readCheckpoint, writeCheckpoint } from '../lib/index.js';
import { native } from '../lib/native.js';
import { readTrainingCheckpoint } from '../lib/checkpoint/training.js';
import { Rng } from '../lib/util/random.js';

const self = fileURLToPath(import.meta.url);

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: expected a number >= 0, got ${process.argv[i + 1]}`);
  return v;
}

// ---- value generators: mostly plausible, sometimes wrong in one way ----------------------
class Gen {
  constructor(readonly rng: Rng) {}
  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.rng.next() < p;
  }
  /** A dimension: usually small and valid, sometimes 0, negative, fractional, huge, NaN or not a number. */
  dim(max: number): unknown {
    if (!this.chance(0.15)) return 1 + this.rng.int(max);
    return this.pick([0, -1, 2.5, 1e10, 2 ** 31, NaN, Infinity, '4', null, undefined, {}, [3], true]);
  }
  number(lo: number, hi: number): unknown {
    if (!this.chance(0.15)) return lo + this.rng.next() * (hi - lo);
    return this.pick([-1, 0, NaN, Infinity, -Infinity, 1e39, 1e-40, '0.1', null, undefined, false]);
  }
  /** A Float32Array of about `n` elements: sometimes the wrong length, type, or with NaN/Inf. */
  floats(n: number): unknown {
    if (this.chance(0.08)) return this.pick([null, undefined, [1, 2, 3], new Float64Array(n), new Int32Array(n), 'q', {}]);
    const len = this.chance(0.1) ? this.pick([0, 1, Math.max(0, n - 1), n + 1]) : n;
    const a = new Float32Array(Math.min(len, 1 << 16));
    for (let i = 0; i < a.length; i++) a[i] = this.rng.next() * 2 - 1;
    if (a.length && this.chance(0.08)) a[this.rng.int(a.length)] = this.pick([NaN, Infinity, -Infinity]);
    return a;
  }
  tokens(n: number, vocab: number): unknown {
    if (this.chance(0.06)) return this.pick([null, new Float32Array(n), new Uint32Array(n), [0, 1], 'abc']);
    const len = this.chance(0.1) ? this.pick([0, 1, Math.max(0, n - 1), n + 1]) : n;
    const a = new Int32Array(Math.min(len, 1 << 16));
    for (let i = 0; i < a.length; i++) a[i] = this.rng.int(vocab);
    if (a.length && this.chance(0.1)) a[this.rng.int(a.length)] = this.pick([-1, -2147483648, vocab, vocab + 7, 2147483647]);
    return a;
  }
  maybe<T>(v: T, p = 0.5): T | undefined {
    return this.chance(p) ? v : undefined;
  }
}

let calls = 0;
let errors = 0;

// Runs one call: a thrown or rejected Error is an expected outcome; anything else thrown (a
// non-Error) is a defect, reported by throwing out of the fuzz loop.
async function call(what: string, f: () => unknown): Promise<unknown> {
  calls++;
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof Error) || e.message.length === 0) throw new Error(`${what}: threw a non-Error or an empty message: ${String(e)}`);
    errors++;
    return undefined;
  }
}

// ---- the three surfaces ---------------------------------------------------------------------
async function fuzzAttention(g: Gen): Promise<void> {
  const shape: Record<string, unknown> = { batch: g.dim(2), heads: g.dim(3), seqLen: g.dim(9), headDim: g.dim(16) };
  if (g.chance(0.05)) delete shape[g.pick(['batch', 'heads', 'seqLen', 'headDim'])];
  const ok = [shape.batch, shape.heads, shape.seqLen, shape.headDim].every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0 && d < 64);
  const n = ok ? (shape.batch as number) * (shape.heads as number) * (shape.seqLen as number) * (shape.headDim as number) : 8;
  const rows = ok ? n / (shape.headDim as number) : 2;
  const opts = g.chance(0.3) ? g.pick([undefined, null, 5, { causal: 'yes' }, { scale: g.number(0, 2) }, { device: g.pick(['cpu', 'cuda', 'gpu', 'auto', 3]) },
    { precision: g.pick(['f32', 'bf16', 'fp8']) }, { captureScore: g.pick([true, false, 0]) }]) : { device: 'cpu' };
  const nativeOpts = { causal: g.chance(0.5), scale: g.number(0, 1), device: g.pick(['cpu', 'cpu', 'cuda', 'x']), precision: g.pick(['f32', 'f32', 'bf16']) };
  const [q, k, v, dout] = [g.floats(n), g.floats(n), g.floats(n), g.floats(n)];
  const out = g.floats(n), lse = g.floats(rows);
  const any = (x: unknown) => x as never;
  switch (g.rng.int(6)) {
    case 0: await call('attentionForwardSync', () => attentionForwardSync(any(q), any(k), any(v), any(shape), any(opts))); break;
    case 1: await call('attentionForward', () => attentionForward(any(q), any(k), any(v), any(shape), any(opts))); break;
    case 2: await call('attentionBackwardSync', () => attentionBackwardSync(any(dout), any(q), any(k), any(v), any(out), any(lse), any(shape), any(opts))); break;
    case 3: await call('attentionBackward', () => attentionBackward(any(dout), any(q), any(k), any(v), any(out), any(lse), any(shape), any(opts))); break;
    case 4: await call('native.attentionForwardSync', () => native.attentionForwardSync(any(q), any(k), any(v), any(shape), any(nativeOpts))); break;
    default: await call('native.attentionBackward', () => native.attentionBackward(any(dout), any(q), any(k), any(v), any(out), any(lse), any(shape), any(nativeOpts)));
  }
}

const models: GPT[] = [];
const handles: ReturnType<typeof Object>[] = [];

async function fuzzGPT(g: Gen): Promise<void> {
  if (models.length === 0 || g.chance(0.03)) {
    const cfg = {
      vocabSize: g.chance(0.9) ? 11 + g.rng.int(20) : g.dim(40), maxSeqLen: g.chance(0.9) ? 4 + g.rng.int(8) : g.dim(12),
      layers: g.chance(0.9) ? 1 + g.rng.int(2) : g.dim(2), heads: g.chance(0.9) ? g.pick([1, 2]) : g.dim(4),
      dim: g.chance(0.9) ? g.pick([4, 8]) : g.dim(9), seed: g.chance(0.9) ? g.rng.int(100) : g.number(0, 9),
      ...(g.chance(0.1) ? { device: g.pick(['cuda', 'tpu', 3]) } : {}),
      ...(g.chance(0.1) ? { kvHeads: g.dim(3), norm: g.pick(['rmsnorm', 'batchnorm']), positions: g.pick(['rope', 'learned', 7]), mlp: g.pick(['swiglu', 'relu']) } : {}),
    };
    const m = (await call('GPT.create', () => GPT.create(cfg as never))) as GPT | undefined;
    if (m) models.push(m);
    if (models.length > 4) models.shift()!.dispose();
    if (g.chance(0.3)) {
      const h = await call('native GPTModel.create', () => native.GPTModel.create({ ...(cfg as object), device: 'cpu', precision: 'f32' } as never));
      if (h) handles.push(h as object);
      if (handles.length > 2) (handles.shift() as { dispose(): void }).dispose();
    }
    return;
  }
  const m = g.pick(models);
  const c = m.config;
  const B = g.chance(0.9) ? 1 + g.rng.int(2) : g.dim(3);
  const T = g.chance(0.9) ? 1 + g.rng.int(c.maxSeqLen) : g.dim(c.maxSeqLen + 2);
  const n = typeof B === 'number' && typeof T === 'number' && Number.isInteger(B * T) && B * T > 0 && B * T < 1e4 ? B * T : 4;
  const any = (x: unknown) => x as never;
  const nParams = m.parameterCount;
  switch (g.rng.int(12)) {
    case 0: case 1: case 2:
      // un-awaited, and the inputs are clobbered right after the call
      {
        const tokens = g.tokens(n, c.vocabSize), targets = g.maybe(g.tokens(n, c.vocabSize), 0.8);
        const p = call('forward', () => m.forward(any(tokens), any({ batch: B, seqLen: T, targets, lossWeights: g.maybe(g.floats(n), 0.2), returnLogits: g.maybe(g.chance(0.5)), scoresOnly: g.maybe(g.chance(0.5), 0.1) })));
        if (tokens instanceof Int32Array) tokens.fill(-7);
        await p;
      }
      break;
    case 3: case 4: await call('backward', () => m.backward(any(g.maybe({ scoresOnly: g.chance(0.3) }, 0.3)))); break;
    case 5: await call('step', () => m.step(any({ lr: g.number(0, 1e-2), eps: g.maybe(g.number(1e-9, 1e-6), 0.2), beta1: g.maybe(g.number(0, 1), 0.1), gradClip: g.maybe(g.number(0, 2), 0.2),
      trainableHeads: g.maybe(g.pick([new Uint8Array(c.layers * c.heads).fill(1), new Uint8Array(1), [1]]), 0.1) }))); break;
    case 6: await call('generate', () => m.generate(any(g.tokens(1 + g.rng.int(3), c.vocabSize)), any({ maxNewTokens: g.chance(0.9) ? g.rng.int(3) : g.dim(99), stopToken: g.maybe(g.dim(c.vocabSize), 0.2) }))); break;
    case 7: await call('setHeadGates', () => m.setHeadGates(any(g.floats(c.layers * c.heads)))); break;
    case 8: await call('importParameters', () => m.importParametersSync(any(g.chance(0.8) ? m.exportParametersSync() : g.floats(nParams)))); break;
    case 9: await call('parameter range', () => (g.chance(0.5) ? m.exportParameterRange(any(g.dim(nParams)), any(g.dim(50)))
      : m.importParameterRange(any(g.dim(nParams)), any(g.floats(1 + g.rng.int(20)))))); break;
    case 10: await call('optimizer state', () => {
      const s = m.exportOptimizerState();
      m.importOptimizerState(any(g.pick([s, { ...s, step: g.dim(5) }, { ...s, m: g.floats(nParams) }, { ...s, v: g.floats(nParams) }, null, {}])));
    }); break;
    default: {
      const h = handles.length ? (g.pick(handles) as Record<string, (...a: unknown[]) => unknown>) : undefined;
      if (!h) break;
      const method = g.pick(['forward', 'backward', 'step', 'generate', 'setHeadGates', 'exportParameters', 'exportGradients', 'importOptimizerState', 'profile']);
      await call(`native ${method}`, () => h[method]!(g.tokens(n, 40), g.pick([{ batch: B, seqLen: T }, { lr: 0.1 }, { maxNewTokens: 1 }, null, undefined, 7])));
    }
  }
}

async function fuzzCheckpoints(g: Gen, dir: string, valid: Buffer[]): Promise<void> {
  const file = path.join(dir, `ck${g.rng.int(4)}${g.pick(['.safetensors', '.bin', ''])}`);
  const src = g.pick(valid);
  let bytes: Buffer;
  switch (g.rng.int(5)) {
    case 0: bytes = src.subarray(0, g.rng.int(src.length)); break; // truncated
    case 1: // garbled: a few bytes flipped, often inside the header
      bytes = Buffer.from(src);
      for (let i = 0, k = 1 + g.rng.int(6); i < k; i++) {
        const at = g.chance(0.7) ? g.rng.int(Math.min(bytes.length, 400)) : g.rng.int(bytes.length);
        bytes[at] = g.rng.int(256);
      }
      break;
    case 2: // foreign: random bytes, text, other formats' magic numbers
      bytes = g.pick([
        Buffer.from(Array.from({ length: g.rng.int(300) }, () => g.rng.int(256))),
        Buffer.from('{"not": "a checkpoint"}'), Buffer.from('\x89PNG\r\n\x1a\n....'), Buffer.alloc(0),
        Buffer.concat([Buffer.from([0xc6, 0xd7, 0x34, 0x01]), Buffer.alloc(g.rng.int(2000), 1)]), // llm.c magic, junk after
      ]);
      break;
    case 3: { // a safetensors header that lies about offsets, shapes or dtypes
      const header = { __metadata__: { format: 'headgrad', config: g.pick(['{"vocabSize":11}', 'null', '{', JSON.stringify({ vocabSize: 11, maxSeqLen: 4, layers: 1, heads: 1, dim: 4 })]),
        ...(g.chance(0.5) ? { training: g.pick(['{}', '{"version":1,"optimizerStep":-1}', 'x']) } : {}) },
        'wte.weight': { dtype: g.pick(['F32', 'F16', 'I8', 'Q4']), shape: g.pick([[11, 4], [1e9, 1e9], [-1], []]), data_offsets: g.pick([[0, 176], [0, 2 ** 40], [100, 50]]) } };
      const json = Buffer.from(JSON.stringify(header));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(g.chance(0.8) ? json.length : g.rng.int(2 ** 30)));
      bytes = Buffer.concat([len, json, Buffer.alloc(g.rng.int(300))]);
      break;
    }
    default: bytes = src; // intact: must load
  }
  writeFileSync(file, bytes);
  switch (g.rng.int(3)) {
    case 0: await call('readCheckpoint', () => readCheckpoint(file)); break;
    case 1: await call('readTrainingCheckpoint', () => readTrainingCheckpoint(file)); break;
    default: {
      const m = (await call('GPT.load', () => GPT.load(file))) as GPT | undefined;
      m?.dispose();
    }
  }
}

async function child(seed: number, maxCalls: number, seconds: number): Promise<void> {
  const g = new Gen(new Rng(seed));
  const dir = mkdtempSync(path.join(tmpdir(), 'headgrad-fuzz-'));
  try {
    // Valid files to damage: a plain checkpoint and a training checkpoint (lib/checkpoint/training.ts).
    const cfg = { vocabSize: 13, maxSeqLen: 6, layers: 1, heads: 2, dim: 4 };
    const m = await GPT.create({ ...cfg, seed });
    await writeCheckpoint(path.join(dir, 'valid.safetensors'), cfg, m.exportParametersSync());
    const { writeTrainingCheckpoint } = await import('../lib/checkpoint/training.js');
    await writeTrainingCheckpoint(path.join(dir, 'train.safetensors'), cfg, m.exportParametersSync(), m.exportOptimizerState(), { step: 0 });
    m.dispose();
    const valid = [readFileSync(path.join(dir, 'valid.safetensors')), readFileSync(path.join(dir, 'train.safetensors'))];
    const deadline = Date.now() + seconds * 1000;
    while (calls < maxCalls && Date.now() < deadline) {
      const r = g.rng.next();
      if (r < 0.4) await fuzzAttention(g);
      else if (r < 0.85) await fuzzGPT(g);
      else await fuzzCheckpoints(g, dir, valid);
    }
    for (const m of models) m.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ seed, calls, errors }));
}

async function main(): Promise<void> {
  const seed = arg('seed', Date.now() % 1e6);
  const total = arg('calls', 10_000);
  const seconds = arg('seconds', 600);
  if (process.argv.includes('--child')) return child(seed, total, seconds);
  const children = Math.max(1, arg('children', 4));
  let sum = 0;
  let crashes = 0;
  for (let i = 0; i < children; i++) {
    const s = seed + i;
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', '--seed', String(s), '--calls', String(Math.ceil(total / children)),
      '--seconds', String(seconds / children)], { encoding: 'utf8', timeout: (seconds / children + 120) * 1000, maxBuffer: 1 << 26 });
    const last = (r.stdout ?? '').trim().split('\n').at(-1) ?? '';
    if (r.status === 0 && last.startsWith('{')) {
      const got = JSON.parse(last) as { calls: number; errors: number };
      sum += got.calls;
      console.log(`child seed ${s}: ${got.calls} calls (${got.errors} refused with an Error), exit 0`);
    } else {
      crashes++;
      console.log(`child seed ${s}: DIED (status ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''})\n${(r.stderr ?? '').slice(-3000)}`);
    }
  }
  console.log(`fuzz: ${sum} calls, ${crashes} crashes (seeds ${seed}..${seed + children - 1})`);
  process.exitCode = crashes === 0 ? 0 : 1;
}

await main();
