// How much work `headgrad reproduce` does: the sizes of every stage, in three presets. The
// default is sized to finish within 5 minutes on 2 CPU cores with the shipped model, --quick
// in under a minute (a smoke test: too few seeds, steps and samples for the numbers to mean
// much), --full runs more seeds and larger sets. All seeds are fixed, so a run is repeatable.
//
// The SFT regime is paper-like: a low peak learning rate and a few epochs over the data (the
// steps follow from samples · epochs / batch), from a base that has first been shown the
// prompt format on held-out format tasks, so that SFT starts where an instruction-naive LLM
// does (a low loss on the responses) rather than from a model that has never seen the template.

export type Preset = 'quick' | 'default' | 'full';

export interface Plan {
  preset: Preset;
  /** Base seed: data draws, batch orders and random heads are all derived from it. */
  seed: number;
  /** Independent SFT seeds (batch orders) per task for findings 1-3. */
  seeds: number;
  /** Format stage before the "before" AP: `samples` of every format task (format-tasks.ts), `steps` of SFT (null: off, the given model is the base). */
  format: { samples: number; steps: number; batchSize: number; lr: number } | null;
  /** SFT of findings 1-3, one run per task and seed, from the (format-stage) base; steps = samples · epochs / batchSize. */
  sft: { samples: number; epochs: number; batchSize: number; lr: number; warmupSteps: number; steps?: number };
  /** Snapshots (AP and held-out loss on the first trajectorySamples probe samples) this many times per run, evenly spaced. */
  snapshots: number;
  trajectorySamples: number;
  /** Held-out samples per task: exact-match accuracy on testSamples, APs on the next probeSamples. */
  testSamples: number;
  probeSamples: number;
  /** Bootstrap resamples of the probe for the Gini/CV intervals. */
  bootstrap: number;
  /** Which AP the findings use: the paper's mean |score| ('mean'), or each sample's scores normalised to sum 1 first ('sample'). */
  apNorm: 'mean' | 'sample';
  /** Generated tokens at most per test answer (null: the reference answer's length + 1). */
  maxNewTokens: number | null;
  /** Head ablation (finding 1): a multi-task SFT model, top-k heads per task vs k random heads. */
  ablation: { steps: number; k: number; draws: number; testSamples: number };
  /** Finding 2: permutations of each permutation test. */
  permutations: number;
  /** Finding 3: SFT sample budgets for the complex tasks, each run for the same number of epochs as finding 1. */
  budgets: number[];
  /** The application: scarce complex-task data, two stages of `stageSteps` each, several seeds. */
  application: { budget: number; stageSteps: number; batchSize: number; basicSamples: number; headK: number; seeds: number; lr: number };
}

const DEFAULT: Plan = {
  preset: 'default',
  seed: 0,
  seeds: 5,
  format: { samples: 64, steps: 60, batchSize: 16, lr: 1e-3 },
  sft: { samples: 256, epochs: 2, batchSize: 16, lr: 1e-3, warmupSteps: 3 },
  snapshots: 6,
  trajectorySamples: 64,
  testSamples: 200,
  probeSamples: 256,
  bootstrap: 200,
  apNorm: 'mean',
  maxNewTokens: null,
  ablation: { steps: 240, k: 4, draws: 3, testSamples: 48 },
  permutations: 1000,
  budgets: [64, 128, 256],
  application: { budget: 64, stageSteps: 30, batchSize: 8, basicSamples: 240, headK: 8, seeds: 5, lr: 1e-3 },
};

const QUICK: Plan = {
  ...DEFAULT,
  preset: 'quick',
  seeds: 2,
  format: { samples: 16, steps: 12, batchSize: 8, lr: 1e-3 },
  sft: { samples: 48, epochs: 1, batchSize: 8, lr: 1e-3, warmupSteps: 1 },
  snapshots: 3,
  trajectorySamples: 12,
  testSamples: 12,
  probeSamples: 24,
  bootstrap: 50,
  ablation: { steps: 12, k: 4, draws: 1, testSamples: 8 },
  permutations: 100,
  budgets: [16, 48],
  application: { budget: 16, stageSteps: 3, batchSize: 8, basicSamples: 24, headK: 8, seeds: 2, lr: 1e-3 },
};

const FULL: Plan = {
  ...DEFAULT,
  preset: 'full',
  seeds: 8,
  format: { samples: 64, steps: 60, batchSize: 16, lr: 1e-3 },
  sft: { samples: 512, epochs: 2, batchSize: 16, lr: 1e-3, warmupSteps: 6 },
  snapshots: 8,
  trajectorySamples: 128,
  testSamples: 500,
  probeSamples: 256,
  bootstrap: 1000,
  ablation: { steps: 960, k: 4, draws: 5, testSamples: 100 },
  permutations: 2000,
  budgets: [64, 256, 1024],
  application: { budget: 64, stageSteps: 80, batchSize: 8, basicSamples: 640, headK: 8, seeds: 8, lr: 1e-3 },
};

export function makePlan(preset: Preset, seed = 0): Plan {
  const base = preset === 'quick' ? QUICK : preset === 'full' ? FULL : DEFAULT;
  return structuredClone({ ...base, seed });
}

/**
 * Optimizer steps of an SFT run on n samples of a task whose finding-1 run has f1 samples:
 * `epochs` passes over the data, or, when the steps are fixed (--steps), those steps for the
 * finding-1 run and the same epochs for other budgets. At least one.
 */
export function stepsFor(plan: Plan, n: number, f1 = n): number {
  const steps = plan.sft.steps !== undefined ? (plan.sft.steps * n) / f1 : (plan.sft.epochs * n) / plan.sft.batchSize;
  return Math.max(1, Math.round(steps));
}

/** Overrides from the command line (real models need their own learning rate, steps and batch). */
export interface PlanOverrides {
  lr?: number;
  steps?: number;
  batch?: number;
  seeds?: number;
  apNorm?: 'mean' | 'sample';
  maxNewTokens?: number;
  noFormat?: boolean;
}

export function applyOverrides(plan: Plan, o: PlanOverrides): Plan {
  const p = structuredClone(plan);
  if (o.lr !== undefined) {
    p.sft.lr = o.lr;
    p.application.lr = o.lr;
    if (p.format) p.format.lr = o.lr;
  }
  if (o.batch !== undefined) {
    p.sft.batchSize = o.batch;
    p.application.batchSize = o.batch;
    if (p.format) p.format.batchSize = o.batch;
  }
  // --steps fixes the SFT length of finding 1; other budgets keep its epochs
  if (o.steps !== undefined) p.sft.steps = o.steps;
  if (o.seeds !== undefined) {
    p.seeds = o.seeds;
    p.application.seeds = o.seeds;
  }
  if (o.apNorm !== undefined) p.apNorm = o.apNorm;
  if (o.maxNewTokens !== undefined) p.maxNewTokens = o.maxNewTokens;
  if (o.noFormat) p.format = null;
  return p;
}
