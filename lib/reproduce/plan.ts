// How much work `headgrad reproduce` does: the sizes of every stage, in three presets. The
// default finishes in about 1.5 minutes on 2 quiet CPU cores with the shipped model (README,
// "Results of the default run"), --quick in under a minute (a smoke test: too few steps and samples for the numbers to mean much),
// --full runs more seeds, budgets and steps. All seeds are fixed, so a run is repeatable.

export type Preset = 'quick' | 'default' | 'full';

export interface Plan {
  preset: Preset;
  /** Base seed: data draws, batch orders and random heads are all derived from it. */
  seed: number;
  /** SFT of finding 1 (one run per task, from the base model). */
  sft: { samples: number; steps: number; batchSize: number; lr: number; warmupSteps: number };
  /** Pattern snapshots every this many SFT steps (finding 3). */
  snapshotEvery: number;
  /** Held-out samples per task for exact-match accuracy; `probeSamples` more, disjoint from them and from the training samples, for the APs. */
  testSamples: number;
  probeSamples: number;
  /** Head ablation (finding 1): a multi-task SFT model, top-k heads per task vs k random heads. */
  ablation: { steps: number; k: number; draws: number; testSamples: number };
  /** Finding 2: permutations of the permutation test. */
  permutations: number;
  /** Finding 3: SFT sample budgets for the complex tasks (same steps for each). */
  budgets: number[];
  /** The application: scarce complex-task data, two stages of `stageSteps` each, several seeds. */
  application: { budget: number; stageSteps: number; batchSize: number; basicSamples: number; headK: number; seeds: number };
}

const DEFAULT: Plan = {
  preset: 'default',
  seed: 0,
  sft: { samples: 256, steps: 80, batchSize: 16, lr: 3e-3, warmupSteps: 8 },
  snapshotEvery: 8,
  testSamples: 48,
  probeSamples: 32,
  ablation: { steps: 480, k: 4, draws: 3, testSamples: 24 },
  permutations: 1000,
  budgets: [64, 256, 1024],
  application: { budget: 64, stageSteps: 60, batchSize: 8, basicSamples: 480, headK: 8, seeds: 3 },
};

const QUICK: Plan = {
  ...DEFAULT,
  preset: 'quick',
  sft: { samples: 64, steps: 12, batchSize: 8, lr: 3e-3, warmupSteps: 2 },
  snapshotEvery: 4,
  testSamples: 12,
  probeSamples: 12,
  ablation: { steps: 16, k: 4, draws: 1, testSamples: 8 },
  permutations: 200,
  budgets: [16, 64],
  application: { budget: 16, stageSteps: 4, batchSize: 8, basicSamples: 32, headK: 8, seeds: 2 },
};

const FULL: Plan = {
  ...DEFAULT,
  preset: 'full',
  sft: { samples: 256, steps: 160, batchSize: 16, lr: 3e-3, warmupSteps: 16 },
  snapshotEvery: 10,
  testSamples: 96,
  probeSamples: 64,
  ablation: { steps: 960, k: 4, draws: 5, testSamples: 64 },
  permutations: 5000,
  budgets: [32, 64, 256, 1024],
  application: { budget: 64, stageSteps: 120, batchSize: 8, basicSamples: 960, headK: 8, seeds: 5 },
};

export function makePlan(preset: Preset, seed = 0): Plan {
  const base = preset === 'quick' ? QUICK : preset === 'full' ? FULL : DEFAULT;
  return { ...base, seed };
}
