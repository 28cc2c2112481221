// Training checkpoints: a headgrad model checkpoint (it loads anywhere a plain one does: the
// readers skip the extras) plus what a run needs to continue exactly where it stopped:
//   tensors  optimizer.m, optimizer.v   F32 [parameterCount], AdamW's moments (canonical layout);
//                                        a bf16 model's cover its trainable set only, and
//            optimizer.master            F32 [the same], its f32 master values, comes with them
//   __metadata__.training               JSON { version: 1, optimizerStep, state }
// `state` belongs to the writer (lib/sft.ts keeps its step, data order, options and history
// there); this file only stores it. Written atomically, like every checkpoint.
import { readCheckpoint, writeCheckpoint, parameterCount, pickConfig, CheckpointError, TRAINING_TENSORS, type CheckpointWriteOptions, type GPTConfig } from './index.js';
import { readSafetensors, tensorFloats } from './safetensors.js';
import type { OptimizerState } from '../native.js';

export interface TrainingCheckpoint {
  config: GPTConfig;
  params: Float32Array;
  optimizer: OptimizerState;
  /** The writer's own state, as it was given to writeTrainingCheckpoint. */
  state: unknown;
}

const VERSION = 1;

export async function writeTrainingCheckpoint(file: string, config: GPTConfig, params: Float32Array,
  optimizer: OptimizerState, state: unknown, o: CheckpointWriteOptions = {}): Promise<void> {
  // a bf16 model's state covers its trainable set (any length) and carries the masters
  const n = optimizer.master ? optimizer.master.length : parameterCount(config);
  const keys = optimizer.master ? (['m', 'v', 'master'] as const) : (['m', 'v'] as const);
  for (const key of keys) {
    const a = optimizer[key];
    if (!(a instanceof Float32Array) || a.length !== n) throw new RangeError(`optimizer.${key}: expected a Float32Array of ${n}, got ${a?.length}`);
    const bad = a.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new RangeError(`optimizer.${key}: element ${bad} is ${a[bad]}; refusing to write a non-finite checkpoint to ${file}`);
  }
  const tensors = keys.map((key, i) => ({ name: TRAINING_TENSORS[i]!, shape: [n], data: optimizer[key]! }));
  await writeCheckpoint(file, config, params, {
    tensors,
    metadata: { training: JSON.stringify({ version: VERSION, optimizerStep: optimizer.step, state }) },
  }, o);
}

/** Reads a training checkpoint; a plain checkpoint (or any other file) is refused with a CheckpointError saying so. */
export async function readTrainingCheckpoint(file: string): Promise<TrainingCheckpoint> {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  const st = await readSafetensors(file);
  if (st.metadata.format !== 'headgrad' || st.metadata.training === undefined) {
    fail('no training state (optimizer moments, step, data order): only sft with a checkpoint interval writes one');
  }
  let meta: { version?: unknown; optimizerStep?: unknown; state?: unknown };
  try {
    meta = JSON.parse(st.metadata.training!);
  } catch (e) {
    return fail(`__metadata__.training is not valid JSON (${(e as Error).message})`);
  }
  if (meta === null || typeof meta !== 'object') fail('__metadata__.training is not an object');
  if (meta.version !== VERSION) fail(`__metadata__.training.version ${JSON.stringify(meta.version)} is not ${VERSION}`);
  const step = meta.optimizerStep;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) fail(`__metadata__.training.optimizerStep ${JSON.stringify(step)} is not an integer >= 0`);
  const { config, params } = await readCheckpoint(file);
  const [mName, vName, masterName] = TRAINING_TENSORS;
  const masterEntry = st.tensors.get(masterName);
  // with masters (a bf16 model's state): the trainable set's length, which the model checks on import
  const n = masterEntry ? masterEntry.shape[0]! : parameterCount(config);
  const moment = (name: string, nonNegative: boolean): Float32Array => {
    const entry = st.tensors.get(name) ?? fail(`missing tensor ${name}`);
    if (entry.shape.length !== 1 || entry.shape[0] !== n) {
      fail(`tensor ${name} has shape ${JSON.stringify(entry.shape)}, expected [${n}] for ${JSON.stringify(pickConfig(config))}`);
    }
    const values = tensorFloats(entry);
    const bad = values.findIndex((x) => !Number.isFinite(x) || (nonNegative && x < 0));
    if (bad >= 0) fail(`tensor ${name} element ${bad} is ${values[bad]}: expected a finite number${nonNegative ? ' >= 0' : ''}`);
    return values;
  };
  const optimizer: OptimizerState = { m: moment(mName, false), v: moment(vName, true), step: step as number };
  if (masterEntry) optimizer.master = moment(masterName, false);
  return { config, params, optimizer, state: meta.state };
}
