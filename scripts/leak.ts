// Memory-leak check: makes N calls (default 10,000) that allocate and free native memory (the
// attention API, a GPT's forward/backward/step/generate, and calls refused with an error), and
// prints the resident set size after a warm-up (the first 30% of the calls) and at the end, and
// their drift in percent.
//   node --expose-gc --import tsx scripts/leak.ts [--calls N]
// The goal is a drift under 5%: the addon frees every input copy and output buffer.
import { attentionBackward, attentionForward, GPT } from '../lib/index.js';

const i = process.argv.indexOf('--calls');
const total = i >= 0 ? Number(process.argv[i + 1]) : 10_000;
if (!Number.isInteger(total) || total < 100) throw new Error(`--calls: expected an integer >= 100, got ${process.argv[i + 1]}`);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.log('(run with node --expose-gc for a stable measurement)');

const shape = { batch: 2, heads: 2, seqLen: 32, headDim: 16 };
const n = 2 * 2 * 32 * 16;
const q = Float32Array.from({ length: n }, (_, k) => Math.sin(k)), dout = q.map((x) => x * 0.5);
const model = await GPT.create({ vocabSize: 64, maxSeqLen: 16, layers: 2, heads: 2, dim: 16, seed: 1 });
const tokens = Int32Array.from({ length: 32 }, (_, k) => (k * 7) % 64);
const cpu = { device: 'cpu' as const };

let calls = 0;
async function one(k: number): Promise<void> {
  switch (k % 6) {
    case 0: { const f = await attentionForward(q, q, q, shape, cpu); await attentionBackward(dout, q, q, q, f.out, f.lse, shape, cpu); calls += 2; break; }
    case 1: await model.forward(tokens, { batch: 2, seqLen: 16, targets: tokens, returnLogits: true }); await model.backward(); await model.step({ lr: 1e-4 }); calls += 3; break;
    case 2: await model.generate(tokens.subarray(0, 4), { maxNewTokens: 4 }); calls++; break;
    case 3: await attentionForward(q, q, new Float32Array(3), shape, cpu).catch(() => undefined); calls++; break; // refused
    case 4: await model.forward(new Int32Array(32).fill(99), { batch: 2, seqLen: 16 }).catch(() => undefined); calls++; break; // refused
    default: model.exportOptimizerState(); model.exportParametersSync(); calls += 2;
  }
}

// Resident memory once garbage is collected and the finalizers that free native buffers (they
// run after the collection, on a later turn of the event loop) have run.
async function rss(): Promise<number> {
  for (let r = 0; r < 3; r++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().rss;
}
let k = 0;
// Warm-up: the thread pool, malloc's per-thread arenas, the engine's activation plan and V8's
// heap reach their working size (RSS climbs for the first few thousand calls, then stays flat).
while (calls < total * 0.3) await one(k++);
const warm = calls;
const before = await rss();
while (calls < total) await one(k++);
const after = await rss();
model.dispose();
const mb = (b: number) => (b / 2 ** 20).toFixed(1);
const { heapUsed, external } = process.memoryUsage();
console.log(`leak: ${calls} calls; RSS after the warm-up (${warm} calls) ${mb(before)} MiB, at the end ${mb(after)} MiB, ` +
  `drift ${((100 * (after - before)) / before).toFixed(2)}% (JS heap ${mb(heapUsed)} MiB, external ${mb(external)} MiB)`);
