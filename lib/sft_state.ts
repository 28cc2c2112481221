// What an SFT run keeps in its training checkpoints (lib/checkpoint/training.ts) so that a
// resumed run continues bit for bit: the step reached, the data order (replayed from the seed:
// the number of batches drawn), the options that shape the trajectory (a resume with other
// options is refused, naming the first difference), and the history so far.
import { dataHash } from './patterns/activation.js';
import type { TrainingSample } from './data/sample.js';
import type { EvalRecord, SftHistory, SftOptions, SnapshotRecord, StepRecord } from './sft.js';
import { HeadgradError } from './errors.js';
import { telemetryFromJson, telemetryJson, type TelemetryJson, type TelemetryRecord } from './telemetry/record.js';

export interface SftRunState {
  /** Optimizer steps of this run completed. */
  step: number;
  /** Batches drawn from the seeded order so far (= step). */
  batchesDrawn: number;
  /** The options and data the trajectory depends on. */
  run: Record<string, unknown>;
  history: {
    steps: StepRecord[];
    evals: EvalRecord[];
    snapshots: { step: number; weightChange: number; layers: number; heads: number; samples: number; values: number[]; signed: number[] }[];
    /** Absent in checkpoints of runs without telemetry. */
    telemetry?: TelemetryJson[];
    tokens: number;
  };
}

/** Raised when a step's loss or gradient norm is not finite; the model was not updated by that step (code ERR_HEADGRAD_SFT_DIVERGED). */
export class SftDivergedError extends HeadgradError {
  constructor(
    message: string,
    /** The step (1-based) whose loss or gradients were not finite. */
    readonly step: number,
    /** The last checkpoint written by this run, if any (it is left as it was). */
    readonly lastCheckpoint: { path: string; step: number } | undefined,
  ) {
    super('ERR_HEADGRAD_SFT_DIVERGED', message);
    this.name = 'SftDivergedError';
  }
}

/** Raised when an sft run was stopped through its signal, between two steps (code ERR_HEADGRAD_ABORTED). */
export class SftAbortedError extends HeadgradError {
  constructor(
    message: string,
    /** Optimizer steps completed before the stop. */
    readonly step: number,
    /** The training checkpoint written at the stop (a single-file checkpoint path), else undefined. */
    readonly checkpoint: string | undefined,
  ) {
    super('ERR_HEADGRAD_ABORTED', message);
    this.name = 'SftAbortedError';
  }
}

/** Everything a resumed run must share with the run it continues. */
export function runFingerprint(o: SftOptions, data: readonly TrainingSample[]): Record<string, unknown> {
  return {
    steps: o.steps, lr: o.lr, warmupSteps: o.warmupSteps ?? 0, minLr: o.minLr ?? o.lr / 10,
    batchSize: o.batchSize ?? 8, seed: o.seed ?? 0, mode: o.mode ?? 'full',
    trainableHeads: o.trainableHeads ? [...o.trainableHeads] : null,
    weightDecay: o.weightDecay ?? null, gradClip: o.gradClip ?? 1, beta1: o.beta1 ?? null, beta2: o.beta2 ?? null, eps: o.eps ?? null,
    data: dataHash(data), dataSamples: data.length,
    eval: o.eval ? { every: o.eval.every, data: dataHash(o.eval.data), check: o.eval.check !== undefined } : null,
    snapshots: o.snapshots ? { every: o.snapshots.every, probe: dataHash(o.snapshots.probe) } : null,
    // only when set, so that checkpoints of runs without it still resume
    ...(o.telemetry ? { telemetry: { every: o.telemetry.every ?? 1, perSample: o.telemetry.perSample ?? false } } : {}),
  };
}

export function toRunState(step: number, run: Record<string, unknown>, h: SftHistory): SftRunState {
  return {
    step, batchesDrawn: step, run,
    history: {
      steps: h.steps, evals: h.evals, tokens: h.tokens,
      snapshots: h.snapshots.map((s) => ({
        step: s.step, weightChange: s.weightChange, layers: s.pattern.layers, heads: s.pattern.heads, samples: s.pattern.samples,
        values: [...s.pattern.values], signed: [...s.pattern.signed],
      })),
      ...(h.telemetry.length ? { telemetry: h.telemetry.map(telemetryJson) } : {}),
    },
  };
}

/**
 * Checks a stored state against this run (`run` = runFingerprint of its options) and returns it
 * with the snapshots rebuilt. Throws an Error naming `file` and the first difference.
 */
export function checkRunState(file: string, state: unknown, run: Record<string, unknown>):
  SftRunState & { snapshotRecords: SnapshotRecord[]; telemetryRecords: TelemetryRecord[] } {
  const fail = (problem: string): never => {
    throw new HeadgradError('ERR_HEADGRAD_SFT_RESUME', `sft: resume ${file}: ${problem}`);
  };
  const s = state as Partial<SftRunState> | null;
  if (s === null || typeof s !== 'object' || typeof s.step !== 'number' || typeof s.batchesDrawn !== 'number' ||
    typeof s.run !== 'object' || s.run === null || typeof s.history !== 'object' || s.history === null) {
    fail('the training state is not one that sft wrote');
  }
  for (const key of new Set([...Object.keys(run), ...Object.keys(s!.run!)])) {
    const was = JSON.stringify(s!.run![key]);
    const now = JSON.stringify(run[key]);
    if (was !== now) fail(`the run it continues had ${key} ${was ?? 'unset'}, this one has ${now ?? 'unset'}`);
  }
  const steps = run.steps as number;
  if (!Number.isSafeInteger(s!.step) || s!.step! < 0 || s!.step! > steps) fail(`step ${s!.step} is outside [0, ${steps}]`);
  const h = s!.history!;
  if (!Array.isArray(h.steps) || h.steps.length !== s!.step || !Array.isArray(h.evals) || !Array.isArray(h.snapshots) || typeof h.tokens !== 'number') {
    fail('the stored history does not match its step');
  }
  const snapshotRecords = h.snapshots.map((x) => ({
    step: x.step, weightChange: x.weightChange,
    pattern: { layers: x.layers, heads: x.heads, samples: x.samples, values: Float64Array.from(x.values), signed: Float64Array.from(x.signed) },
  }));
  const telemetry = h.telemetry ?? [];
  if (!Array.isArray(telemetry)) fail('the stored telemetry is not a list');
  const telemetryRecords = telemetry.map((x, i) => telemetryFromJson(x, `sft: resume ${file}: telemetry[${i}]`));
  if (telemetryRecords.some((r, i) => r.step >= s!.step! || (i > 0 && r.step <= telemetryRecords[i - 1]!.step))) {
    fail(`the stored telemetry steps are not increasing and below step ${s!.step}`);
  }
  return { ...(s as SftRunState), snapshotRecords, telemetryRecords };
}
