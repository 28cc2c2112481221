// A child process for test/memory_plan.test.ts: builds a model, runs one forward and backward
// (scores-only when frozen; a full backward and an AdamW step otherwise) and prints, as JSON,
// its peak RSS (getrusage) before the model and at the end, beside the planner's estimate for the same workload. Run:
//   node --import tsx test/helpers/memory_child.ts '{"config":{...},"precision":"f32","mode":"frozen","batch":4,"seqLen":128}'
import { GPT, backendInfo, estimateMemory, type GPTConfig, type Precision, type TrainMode } from '../../lib/index.js';

const o = JSON.parse(process.argv[2]!) as { config: GPTConfig; precision: Precision; mode: TrainMode; batch: number; seqLen: number };
const { config, precision, mode, batch: B, seqLen: T } = o;
backendInfo(); // loads the addon: `base` is the runtime before any model
const base = process.resourceUsage().maxRSS * 1024;
const model = await GPT.create({ ...config, seed: 1, precision, device: 'cpu' });
const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % config.vocabSize);
const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 104729) % config.vocabSize);
const scoresOnly = mode === 'frozen';
await model.forward(tokens, { batch: B, seqLen: T, targets, scoresOnly });
await model.backward({ scoresOnly });
if (!scoresOnly) await model.step({ lr: 1e-4 });
// the precision that runs ('f32' where the CPU has no bf16 support)
const estimate = estimateMemory(config, model.precision, { batch: B, seqLen: T, mode });
console.log(JSON.stringify({ base, peak: process.resourceUsage().maxRSS * 1024, estimate }));
