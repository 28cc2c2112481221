// Supervised fine-tuning: AdamW (in the engine) driven by a warmup + cosine learning-rate
// schedule, in one of three modes (all weights, only chosen heads, chosen heads + MLP), with
// periodic evaluation, activation-pattern snapshots and checkpoints. The loss of a batch is the
// mean of its samples' per-sample means (lib/data/batch.ts weights), as docs/method.md defines it.
import cliProgress from 'cli-progress';
import type { GPT, TrainableSet } from './model.js';
import type { Tokenizer } from './tokenizer.js';
import { makeBatch, encodeSample } from './data/batch.js';
import { isChatSample, isTextSample, type TrainingSample } from './data/sample.js';
import { Rng } from './util/random.js';
import { heldOutLoss, exactMatchAccuracy, type Checker } from './evaluate.js';
import { activationPattern, type ActivationPattern } from './patterns/activation.js';
import { pickConfig } from './checkpoint/layout.js';
import { readTrainingCheckpoint, writeTrainingCheckpoint } from './checkpoint/training.js';
import { SftAbortedError, SftDivergedError, checkRunState, runFingerprint, toRunState } from './sft_state.js';
import { HeadgradError, HeadgradRangeError, HeadgradTypeError } from './errors.js';
import { recordsStep, telemetryRecord, type TelemetryOptions, type TelemetryRecord } from './telemetry/record.js';

export { SftAbortedError, SftDivergedError } from './sft_state.js';
export type { TelemetryOptions, TelemetryRecord } from './telemetry/record.js';

export type SftMode = 'full' | 'heads' | 'heads+mlp';

export interface ScheduleOptions {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Total number of optimizer steps. */
  steps: number;
  /** Linear warmup from lr/warmupSteps to lr over this many steps (default 0). */
  warmupSteps?: number;
  /** The floor the cosine decays to at the last step (default lr / 10). */
  minLr?: number;
}

/**
 * Learning rate for optimizer step `step` (0-based): linear warmup to `lr`, then half a cosine
 * from `lr` down to `minLr`, which the last step reaches exactly.
 */
export function learningRate(step: number, o: ScheduleOptions): number {
  const warmup = o.warmupSteps ?? 0;
  const minLr = o.minLr ?? o.lr / 10;
  if (step < warmup) return (o.lr * (step + 1)) / warmup;
  const decaySteps = o.steps - 1 - warmup;
  if (decaySteps <= 0) return o.lr;
  const progress = Math.min(1, (step - warmup) / decaySteps);
  return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}

export interface SftEvalOptions {
  /** Held-out samples for the loss and the accuracy. */
  data: readonly TrainingSample[];
  /** Evaluate before training, every `every` steps and after the last step. */
  every: number;
  /** Exact-match checker; without it only the loss is measured. */
  check?: Checker;
}

export interface SftSnapshotOptions {
  /** Fixed probe samples the activation pattern is measured on. */
  probe: readonly TrainingSample[];
  /** Snapshot before training, every `every` steps and after the last step. */
  every: number;
}

export interface SftOptions extends ScheduleOptions {
  tokenizer: Tokenizer;
  /** Samples per optimizer step (default 8). */
  batchSize?: number;
  /** Seeds the batch order (default 0). */
  seed?: number;
  /** 'full' (default) trains everything; 'heads' only the Q/K/V/O slices of `trainableHeads`; 'heads+mlp' those plus the MLPs. */
  mode?: SftMode;
  /** [layers*heads] mask, 1 = trainable; required for the head modes. */
  trainableHeads?: Uint8Array;
  weightDecay?: number;
  /** Global gradient-norm clip (default 1). */
  gradClip?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  eval?: SftEvalOptions;
  snapshots?: SftSnapshotOptions;
  /**
   * AP telemetry (lib/telemetry/record.ts): the activation pattern of the training batch itself,
   * from the scores the training backward returns anyway, so no extra pass. Recorded into
   * history.telemetry and training checkpoints, and passed to onTelemetry.
   */
  telemetry?: TelemetryOptions;
  /**
   * Save the model to `path` at the end, and also every `every` steps (same path, atomic write).
   * With `every` and a single-file path (.safetensors), each save is a training checkpoint
   * (lib/checkpoint/training.ts): the weights plus AdamW's moments and step count, the run's
   * step, data order and history, so that `resume` can continue it bit for bit. It still loads
   * anywhere a plain checkpoint does.
   */
  checkpoint?: { path: string; every?: number };
  /**
   * A training checkpoint of an earlier run with the same options and data: the run continues
   * from its step (weights, optimizer state, data order and history restored) as if it had never
   * stopped. `model` must have the checkpoint's config; θ_0 of the snapshots is the model as given.
   */
  resume?: string;
  /**
   * Stops the run between two steps once aborted (the step in flight finishes). With a
   * single-file checkpoint path (.safetensors) a training checkpoint of the completed steps is
   * written there first, so `resume` continues the run bit for bit; then sft rejects with an
   * SftAbortedError (ERR_HEADGRAD_ABORTED).
   */
  signal?: AbortSignal;
  /** Called after each periodic checkpoint is written. */
  onCheckpoint?: (c: { step: number; path: string }) => void;
  onStep?: (s: StepRecord) => void;
  onEval?: (e: EvalRecord) => void;
  /** Each telemetry record as it is made; a resumed run first replays the records it restored, so a listener sees the whole run. */
  onTelemetry?: (r: TelemetryRecord) => void;
  /** Progress bar on stderr (default: when stderr is a terminal). Never written to stdout. */
  progress?: boolean;
}

export interface StepRecord { step: number; loss: number; lr: number }
export interface EvalRecord { step: number; loss: number; accuracy?: number }
export interface SnapshotRecord {
  step: number;
  pattern: ActivationPattern;
  /** ‖θ_step − θ_0‖ / ‖θ_0‖ over all parameters. */
  weightChange: number;
}

export interface SftHistory {
  steps: StepRecord[];
  evals: EvalRecord[];
  snapshots: SnapshotRecord[];
  /** The telemetry records, in step order (empty without the telemetry option). */
  telemetry: TelemetryRecord[];
  /** The whole run, evaluations and snapshots included. */
  wallSeconds: number;
  /** Tokens fed to the engine (batch · padded seqLen, summed over steps). */
  tokens: number;
  /** tokens / the time spent in forward + backward + step (evaluations excluded). */
  tokensPerSecond: number;
}

/**
 * Fine-tunes `model` in place on `data` and returns what happened along the way. Stops with an
 * SftDivergedError at the first step whose loss or gradient norm is not finite, before that step
 * changes the model, leaving the last checkpoint written as it was.
 */
export async function sft(model: GPT, data: readonly TrainingSample[], opts: SftOptions): Promise<SftHistory> {
  validateSftOptions(model, data, opts);
  const batchSize = opts.batchSize ?? 8;
  // Declared before any gradient is formed: a bf16 model then holds gradients, f32 masters and
  // moments only for these parameters (an 8B model in 'heads' mode: the chosen heads' slices).
  model.setTrainable(trainableSet(opts));
  const stepOptions = optimizerOptions(opts);
  const order = batchOrder(data, batchSize, opts.seed ?? 0);
  const theta0 = opts.snapshots ? await model.exportParameters() : undefined;
  const history: SftHistory = { steps: [], evals: [], snapshots: [], telemetry: [], wallSeconds: 0, tokens: 0, tokensPerSecond: 0 };
  const telemetry = opts.telemetry;
  const started = performance.now();
  let trainMs = 0;

  // Training checkpoints: periodic saves to a single file carry everything a resume needs.
  const ckpt = opts.checkpoint;
  const singleFile = ckpt !== undefined && ckpt.path.endsWith('.safetensors');
  const resumable = ckpt?.every !== undefined && singleFile;
  const run = singleFile || opts.resume !== undefined ? runFingerprint(opts, data) : {};
  let lastCheckpoint: { path: string; step: number } | undefined;
  const save = async (stepDone: number, training = resumable) => {
    if (!training) return model.save(ckpt!.path);
    const state = toRunState(stepDone, run, history);
    await writeTrainingCheckpoint(ckpt!.path, model.config, await model.exportParameters(), model.exportOptimizerState(), state,
      model.bf16Weights ? { bf16Where: 'exact' } : {});
  };

  let start = 0;
  if (opts.resume !== undefined) {
    const ck = await readTrainingCheckpoint(opts.resume);
    if (JSON.stringify(pickConfig(ck.config)) !== JSON.stringify(pickConfig(model.config))) {
      throw new HeadgradError('ERR_HEADGRAD_SFT_RESUME', `sft: resume ${opts.resume}: its model config ${JSON.stringify(pickConfig(ck.config))} is not this model's ${JSON.stringify(pickConfig(model.config))}`);
    }
    const st = checkRunState(opts.resume, ck.state, run);
    await model.importParameters(ck.params); // resets the optimizer state, so it is imported after
    model.importOptimizerState(ck.optimizer);
    start = st.step;
    for (let i = 0; i < st.batchesDrawn; i++) order.next();
    history.steps.push(...st.history.steps);
    history.evals.push(...st.history.evals);
    history.snapshots.push(...st.snapshotRecords);
    history.telemetry.push(...st.telemetryRecords);
    for (const r of st.telemetryRecords) opts.onTelemetry?.(r);
    history.tokens = st.history.tokens;
    lastCheckpoint = { path: opts.resume, step: start };
  }
  const bar = progressBar(opts, start);
  const diverged = (step: number, what: string) => new SftDivergedError(
    `sft: step ${step}: ${what}; stopped before that step changed the model. ` +
      (lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint.path} (step ${lastCheckpoint.step}), left as it was.` : 'No checkpoint had been written.'),
    step, lastCheckpoint);

  // Evaluations and snapshots happen at step 0 (the base model), every k steps, and at the end.
  const due = (every: number | undefined, step: number) => every !== undefined && (step % every === 0 || step === opts.steps);
  const observe = async (step: number) => {
    if (opts.eval && due(opts.eval.every, step)) {
      const rec = await evaluate(model, opts.eval, opts.tokenizer, step);
      history.evals.push(rec);
      opts.onEval?.(rec);
    }
    if (opts.snapshots && due(opts.snapshots.every, step)) {
      const pattern = await activationPattern(model, opts.snapshots.probe, { tokenizer: opts.tokenizer });
      history.snapshots.push({ step, pattern, weightChange: relativeChange(await model.exportParameters(), theta0!) });
    }
  };

  try {
    if (start === 0) await observe(0);
    for (let step = start; step < opts.steps; step++) {
      if (opts.signal?.aborted) {
        if (singleFile) await save(step, true);
        throw new SftAbortedError(singleFile ? `sft: stopped after step ${step}; a training checkpoint of it is in ${ckpt!.path}` : `sft: stopped after step ${step}`,
          step, singleFile ? ckpt!.path : undefined);
      }
      const ids = order.next();
      const b = makeBatch(ids.map((i) => data[i]!), opts.tokenizer, { maxSeqLen: model.config.maxSeqLen });
      const t0 = performance.now();
      const { loss } = await model.forward(b.tokens, { batch: b.batch, seqLen: b.seqLen, targets: b.targets, lossWeights: b.lossWeights });
      if (!Number.isFinite(loss)) throw diverged(step + 1, `the loss is ${loss}`);
      const { headScores } = await model.backward();
      const lr = learningRate(step, opts);
      try {
        await model.step({ ...stepOptions, lr });
      } catch (e) {
        // The engine refuses a step whose gradient norm is not finite and changes nothing.
        const m = /gradients are not finite \(global norm ([^)]*)\)/.exec((e as Error).message);
        if (m) throw diverged(step + 1, `the gradient norm is ${m[1]}`);
        throw e;
      }
      // made after the step succeeded, so a failed step leaves no record (as it leaves no loss)
      const tel = telemetry && recordsStep(telemetry, step, opts.steps)
        ? telemetryRecord(step, loss, headScores, b.weightSums, model.config, telemetry.perSample ? ids : undefined)
        : undefined;
      trainMs += performance.now() - t0;
      history.tokens += b.batch * b.seqLen;

      const rec = { step: step + 1, loss, lr };
      history.steps.push(rec);
      opts.onStep?.(rec);
      if (tel) {
        history.telemetry.push(tel);
        opts.onTelemetry?.(tel);
      }
      bar?.update(step + 1, { loss: loss.toFixed(4) });
      await observe(step + 1);
      const every = ckpt?.every;
      if (every && (step + 1) % every === 0 && step + 1 < opts.steps) {
        await save(step + 1);
        lastCheckpoint = { path: ckpt!.path, step: step + 1 };
        opts.onCheckpoint?.({ ...lastCheckpoint });
      }
    }
    if (ckpt) await save(opts.steps);
  } finally {
    bar?.stop();
  }
  history.wallSeconds = (performance.now() - started) / 1000;
  history.tokensPerSecond = history.tokens / (trainMs / 1000);
  return history;
}

function validateSftOptions(model: GPT, data: readonly TrainingSample[], o: SftOptions): void {
  const posInt = (v: unknown, name: string) => {
    if (!Number.isInteger(v) || (v as number) < 1) throw new HeadgradRangeError(`sft: ${name} must be a positive integer, got ${v}`);
  };
  const posNum = (v: unknown, name: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new HeadgradRangeError(`sft: ${name} must be a finite number > 0, got ${v}`);
  };
  if (data.length === 0) throw new HeadgradRangeError('sft: data must contain at least one sample');
  posInt(o.steps, 'steps');
  posNum(o.lr, 'lr');
  if (o.batchSize !== undefined) posInt(o.batchSize, 'batchSize');
  if (o.minLr !== undefined && !(o.minLr >= 0 && o.minLr <= o.lr)) throw new HeadgradRangeError(`sft: minLr must be in [0, lr], got ${o.minLr}`);
  if (o.warmupSteps !== undefined && !(Number.isInteger(o.warmupSteps) && o.warmupSteps >= 0 && o.warmupSteps <= o.steps)) {
    throw new HeadgradRangeError(`sft: warmupSteps must be an integer in [0, steps], got ${o.warmupSteps}`);
  }
  const mode = o.mode ?? 'full';
  if (mode !== 'full' && mode !== 'heads' && mode !== 'heads+mlp') {
    throw new HeadgradRangeError(`sft: mode must be 'full', 'heads' or 'heads+mlp', got ${JSON.stringify(o.mode)}`);
  }
  const nHeads = model.config.layers * model.config.heads;
  if (mode === 'full' && o.trainableHeads) throw new HeadgradTypeError("sft: trainableHeads is only used with mode 'heads' or 'heads+mlp'");
  if (mode !== 'full') {
    if (!(o.trainableHeads instanceof Uint8Array) || o.trainableHeads.length !== nHeads) {
      throw new HeadgradTypeError(`sft: mode '${mode}' needs trainableHeads, a Uint8Array of layers*heads = ${nHeads}`);
    }
    if (!o.trainableHeads.some((x) => x !== 0)) throw new HeadgradRangeError('sft: trainableHeads selects no head');
  }
  if (o.eval) {
    posInt(o.eval.every, 'eval.every');
    if (o.eval.data.length === 0) throw new HeadgradRangeError('sft: eval.data must not be empty');
  }
  if (o.telemetry !== undefined) {
    if (o.telemetry === null || typeof o.telemetry !== 'object') throw new HeadgradTypeError(`sft: telemetry must be an object { every?, perSample? }, got ${JSON.stringify(o.telemetry)}`);
    if (o.telemetry.every !== undefined) posInt(o.telemetry.every, 'telemetry.every');
    if (o.telemetry.perSample !== undefined && typeof o.telemetry.perSample !== 'boolean') {
      throw new HeadgradTypeError(`sft: telemetry.perSample must be true or false, got ${JSON.stringify(o.telemetry.perSample)}`);
    }
  }
  if (o.snapshots) {
    posInt(o.snapshots.every, 'snapshots.every');
    if (o.snapshots.probe.length === 0) throw new HeadgradRangeError('sft: snapshots.probe must not be empty');
  }
  if (o.checkpoint !== undefined && (typeof o.checkpoint.path !== 'string' || o.checkpoint.path === '')) {
    throw new HeadgradTypeError(`sft: checkpoint.path must be a file name, got ${JSON.stringify(o.checkpoint.path)}`);
  }
  if (o.checkpoint?.every !== undefined) posInt(o.checkpoint.every, 'checkpoint.every');
  if (o.resume !== undefined && (typeof o.resume !== 'string' || o.resume === '')) {
    throw new HeadgradTypeError(`sft: resume must be the file name of a training checkpoint, got ${JSON.stringify(o.resume)}`);
  }
  const fit = (samples: readonly TrainingSample[], name: string) => checkFits(samples, name, o.tokenizer, model.config.maxSeqLen);
  fit(data, 'data');
  if (o.eval) fit(o.eval.data, 'eval.data');
  if (o.snapshots) fit(o.snapshots.probe, 'snapshots.probe');
}

/**
 * Throws, naming the first offender, unless every sample's separator + response fits the
 * context: a prompt may be cut from the left (lib/data/batch.ts), the response may not. Checked
 * up front so that a bad sample does not stop a run halfway.
 */
function checkFits(samples: readonly TrainingSample[], name: string, tokenizer: Tokenizer, maxSeqLen: number): void {
  samples.forEach((s, i) => {
    if (isChatSample(s) || isTextSample(s)) {
      const e = encodeSample(s, i, tokenizer);
      const need = e.seq.length - 1 - (e.cutLimit - e.keep);
      if (need > maxSeqLen) throw new HeadgradRangeError(`sft: ${name}[${i}]: ${e.what} need ${need} tokens, more than the model's maxSeqLen ${maxSeqLen}`);
      return;
    }
    const need = tokenizer.separator.length + tokenizer.encode(s.response).length;
    if (need > maxSeqLen) {
      throw new HeadgradRangeError(`sft: ${name}[${i}]: separator + response need ${need} tokens, more than the model's maxSeqLen ${maxSeqLen}`);
    }
  });
}

/** The per-step options for model.step, minus the learning rate; unset ones keep the engine's defaults. */
function optimizerOptions(o: SftOptions) {
  const given = Object.entries({ beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay }).filter(([, v]) => v !== undefined);
  return { ...Object.fromEntries(given), gradClip: o.gradClip ?? 1, ...trainableSet(o) };
}

/** What the mode trains: everything, or the chosen heads' slices (plus the MLPs in 'heads+mlp'). */
function trainableSet(o: SftOptions): TrainableSet {
  const mode = o.mode ?? 'full';
  return mode === 'full' ? {} : { trainableHeads: o.trainableHeads, trainMlp: mode === 'heads+mlp' };
}

/**
 * Seeded batch order, as indices into the data: epochs over a fresh shuffle each; a batch that
 * would cross an epoch boundary continues into the next shuffle, so every batch is full even
 * for tiny data.
 */
function batchOrder(data: readonly TrainingSample[], batchSize: number, seed: number) {
  const rng = new Rng(seed);
  let perm: number[] = [];
  let at = 0;
  return {
    next(): number[] {
      const out: number[] = [];
      while (out.length < batchSize) {
        if (at === perm.length) {
          perm = rng.shuffle(Array.from({ length: data.length }, (_, i) => i));
          at = 0;
        }
        out.push(perm[at++]!);
      }
      return out;
    },
  };
}

async function evaluate(model: GPT, e: SftEvalOptions, tokenizer: Tokenizer, step: number): Promise<EvalRecord> {
  const loss = await heldOutLoss(model, e.data, { tokenizer });
  const accuracy = e.check ? await exactMatchAccuracy(model, e.data, { tokenizer, check: e.check }) : undefined;
  return accuracy === undefined ? { step, loss } : { step, loss, accuracy };
}

/** ‖a − b‖ / ‖b‖, accumulated in float64. */
export function relativeChange(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i]! - b[i]!;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  return Math.sqrt(num / den);
}

function progressBar(o: SftOptions, start = 0) {
  if (!(o.progress ?? process.stderr.isTTY === true)) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, noTTYOutput: true, format: 'sft [{bar}] {value}/{total} steps | loss {loss} | {eta_formatted} left' },
    cliProgress.Presets.shades_classic,
  );
  bar.start(o.steps, start, { loss: '-' });
  return bar;
}
