// Rebuilds the shipped base model (models/base.safetensors) from fixed seeds and records what it
// is in models/base.json: sha256 of the file, config, training settings, time, loss and how well
// it knows the basic skills (lib/reproduce/base-skills.ts), and its measurement against the
// acceptance criteria (lib/reproduce/base-criteria.ts; scripts/check-base.ts re-measures any model).
//
//   HEADGRAD_THREADS=2 npx tsx scripts/make-model.ts [--out models]
//
// The result is bit for bit the same on the CPU engine with the same thread count (no float
// atomics, fixed reduction orders); base.json records the thread count. The device is pinned
// to the CPU so that a machine with a GPU builds the same file.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { backendInfo } from '../lib/backend.js';
import { GPT } from '../lib/model.js';
import { ByteTokenizer } from '../lib/tokenizer.js';
import { pretrainCorpus } from '../lib/data/tasks.js';
import { heldOutLoss } from '../lib/evaluate.js';
import { sft } from '../lib/sft.js';
import { probeBaseSkills } from '../lib/reproduce/base-skills.js';
import { acceptanceRecord, measureBase } from '../lib/reproduce/measure-base.js';
import { writeTextAtomic } from '../lib/util/atomic_file.js';

const MODEL = { layers: 4, heads: 8, dim: 64, maxSeqLen: 64 };
const TRAINING = { documents: 240000, steps: 15000, batchSize: 32, lr: 2e-3, warmupSteps: 100, weightDecay: 0.1, seed: 0 };
// Probes use inputs drawn with another seed than the corpus (PROBE_SEED), and a held-out corpus.
const PROBE_SEED = 12345;
const PROBE_SAMPLES = 50;

const { values } = parseArgs({ options: { out: { type: 'string', default: 'models' } } });
const outDir = values.out!;
await mkdir(outDir, { recursive: true });
const file = path.join(outDir, 'base.safetensors');

const tokenizer = new ByteTokenizer();
const asDocument = (text: string) => ({ prompt: '', response: text });
const docs = pretrainCorpus(TRAINING.documents, TRAINING.seed).map(asDocument);
const heldOut = pretrainCorpus(512, PROBE_SEED).map(asDocument);

const started = performance.now();
const model = await GPT.create({ vocabSize: tokenizer.vocabSize, ...MODEL, seed: TRAINING.seed, device: 'cpu' });
console.error(`make-model: ${model.parameterCount} parameters, ${TRAINING.steps} steps of ${TRAINING.batchSize} documents`);
const history = await sft(model, docs, { tokenizer, ...TRAINING, progress: true });
const trainSeconds = (performance.now() - started) / 1000;
await model.save(file);

const sha256 = createHash('sha256').update(await readFile(file)).digest('hex');
const skills = await probeBaseSkills(model, tokenizer, PROBE_SAMPLES, PROBE_SEED);
const record = {
  file: path.basename(file),
  sha256,
  bytes: (await readFile(file)).length,
  config: { vocabSize: tokenizer.vocabSize, ...MODEL },
  parameters: model.parameterCount,
  tokenizer: 'byte',
  training: { corpus: 'pretrainCorpus (lib/data/tasks.ts)', ...TRAINING, schedule: 'linear warmup, cosine to lr/10', gradClip: 1 },
  command: `HEADGRAD_THREADS=${backendInfo().cpu.threads} npx tsx scripts/make-model.ts`,
  threads: backendInfo().cpu.threads,
  trainSeconds: Math.round(trainSeconds),
  tokensPerSecond: Math.round(history.tokensPerSecond),
  finalTrainLoss: history.steps.slice(-50).reduce((a, s) => a + s.loss, 0) / 50,
  heldOutLoss: await heldOutLoss(model, heldOut, { tokenizer }),
  baseSkills: skills,
  acceptance: acceptanceRecord(await measureBase(file)),
};
await writeTextAtomic(path.join(outDir, 'base.json'), JSON.stringify(record, null, 2) + '\n');
model.dispose();
console.log(JSON.stringify(record, null, 2));
