// Load time, peak memory and the speed of pattern extraction or head-targeted SFT on a Hugging
// Face model folder (made by scripts/make-random-llama.ts, or a downloaded one):
//   node --import tsx scripts/measure-llama.ts --model /tmp/llama-1b [--precision f32|bf16]
//        [--run patterns|sft] [--samples 16] [--batch 4] [--tokens 128] [--heads 8] [--steps 5] [--load-only]
// --run sft: `sft --mode heads` on --heads heads spread over the layers, --steps steps of --batch
// samples; tokens/s is sft's own (forward + backward + step, padding included).
// The engine's own memory by kind (model.residentBytes(), docs/memory.md) is printed beside the RSS.
// Peak RSS is the kernel's high-water mark of this process (VmHWM in /proc/self/status, what
// /usr/bin/time -v reports as "Maximum resident set size"), read after the load and again after
// the pattern run. Tokens/s counts the samples' own input tokens (padding excluded; the samples
// have nearly equal lengths) over the wall time of activationPattern (forward + scores-only
// backward, batching and tokenizing included; no hashing). Each peak is printed beside the
// memory planner's estimate for the same work (lib/memory_plan.ts, what `headgrad info` prints).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { GPT, backendInfo, activationPattern, estimateMemory, parameterCount, sft } from '../lib/index.js';
import { tokenizerForModel } from '../lib/model_tokenizer.js';
import { makeBatch } from '../lib/data/batch.js';
import { Rng } from '../lib/util/random.js';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' }, samples: { type: 'string', default: '16' }, batch: { type: 'string', default: '4' },
    tokens: { type: 'string', default: '128' }, 'load-only': { type: 'boolean', default: false },
    precision: { type: 'string', default: 'f32' }, run: { type: 'string', default: 'patterns' },
    heads: { type: 'string', default: '8' }, steps: { type: 'string', default: '5' },
  },
});
if (!a.model || !['f32', 'bf16'].includes(a.precision!) || !['patterns', 'sft'].includes(a.run!)) {
  console.error('usage: node --import tsx scripts/measure-llama.ts --model DIR [--precision f32|bf16] [--run patterns|sft] ' +
    '[--samples N] [--batch B] [--tokens T] [--heads K] [--steps S] [--load-only]');
  process.exit(1);
}
const peakRss = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const gb = (b: number) => (b / 1e9).toFixed(2);
const info = backendInfo();
console.log(`machine: ${os.cpus()[0]?.model} (${os.cpus().length} cores), ${info.cpu.threads} engine threads, ${info.cpu.simd}, BLAS ${info.cpu.blas}`);

const t0 = performance.now();
const precision = a.precision as 'f32' | 'bf16';
const model = await GPT.load(a.model, { precision, device: 'cpu' });
const resident = () => Object.entries(model.residentBytes()).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${gb(v)}`).join(', ');
const loadS = (performance.now() - t0) / 1000;
const n = parameterCount(model.config);
const f32 = n * 4;
const afterLoad = peakRss();
console.log(`load (${precision}): ${loadS.toFixed(1)} s to a ready model, ${n.toLocaleString('en')} parameters (f32 ${gb(f32)} GB); ` +
  `peak RSS ${gb(afterLoad)} GB = ${(afterLoad / f32).toFixed(2)}x the f32 size; estimate ${gb(estimateMemory(model.config, precision).total)} GB; ` +
  `engine GB: ${resident()}`);
if (a['load-only']) process.exit(0);

// prompt/response samples whose rows are as close to --tokens tokens as the words allow, never
// longer (the chat template included; scripts/measure_torch_llama.py's rows are exactly --tokens
// long): words from a fixed list are added to prompt and response in turn while one still fits.
const tokenizer = await tokenizerForModel(a.model, model.config);
const words = ['the', 'model', 'reads', 'a', 'long', 'sentence', 'about', 'heads', 'and', 'gradients', 'of', 'attention'];
const rng = new Rng(1);
const text = (k: number) => Array.from({ length: k }, () => words[rng.int(words.length)]).join(' ');
type Sample = { prompt: string; response: string };
const rowLength = (x: Sample) => makeBatch([x], tokenizer, { maxSeqLen: model.config.maxSeqLen }).seqLen;
const samples = Array.from({ length: Number(a.samples) }, () => {
  const s: Sample = { prompt: text(2), response: text(2) };
  for (let i = 0; ; i++) {
    const key = i % 2 === 0 ? 'prompt' : 'response';
    const w = [text(1), ...words].find((x) => rowLength({ ...s, [key]: `${s[key]} ${x}` }) <= Number(a.tokens));
    if (w === undefined) break;
    s[key] += ` ${w}`;
  }
  return s;
});
const batch = Number(a.batch);
let ran = 0;
for (const x of samples) ran += rowLength(x);
const longest = Math.max(...samples.map(rowLength));
console.log(`samples: ${samples.length}, rows of ${Math.min(...samples.map(rowLength))}-${longest} tokens`);
if (a.run === 'patterns') {
  const t1 = performance.now();
  await activationPattern(model, samples, { tokenizer, batchSize: batch });
  const s = (performance.now() - t1) / 1000;
  const estimate = estimateMemory(model.config, precision, { batch, seqLen: longest });
  console.log(`patterns: ${samples.length} samples, batch ${batch}, ${ran} tokens in ${s.toFixed(1)} s = ${(ran / s).toFixed(1)} tokens/s; ` +
    `peak RSS ${gb(peakRss())} GB; estimate ${gb(estimate.total)} GB; engine GB: ${resident()}`);
} else {
  // --heads heads spread evenly over layers and heads (a stand-in for a top-k selection)
  const { layers: L, heads: H } = model.config;
  const k = Math.min(Number(a.heads), L * H);
  const trainableHeads = new Uint8Array(L * H);
  for (let i = 0; i < k; i++) trainableHeads[Math.floor((i * L * H) / k) + (i % H)] = 1;
  const h = await sft(model, samples, { tokenizer, mode: 'heads', trainableHeads, steps: Number(a.steps), batchSize: batch, lr: 1e-4, progress: false });
  const estimate = estimateMemory(model.config, precision, { batch, seqLen: longest, mode: 'heads', trainedHeads: k });
  console.log(`sft --mode heads: ${trainableHeads.reduce((x, y) => x + y, 0)} heads, ${h.steps.length} steps of batch ${batch}, ` +
    `${h.tokens} tokens at ${h.tokensPerSecond.toFixed(1)} tokens/s; peak RSS ${gb(peakRss())} GB; estimate ${gb(estimate.total)} GB; engine GB: ${resident()}`);
}
model.dispose();
