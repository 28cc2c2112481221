// Measures a base model where `headgrad reproduce` measures its base (the default plan, seed 0,
// after the format stage) for the acceptance criteria of base-criteria.ts: make-model records it
// in base.json, scripts/check-base.ts prints it beside the committed bounds.
import { readCheckpoint } from '../checkpoint/index.js';
import { exactMatchAccuracy } from '../evaluate.js';
import { tokenizerForModel } from '../model_tokenizer.js';
import { BASE_CRITERIA, judgeBase, mean, type BaseMeasurement, type CriterionResult } from './base-criteria.js';
import { withModel, type Context } from './context.js';
import { makePlan } from './plan.js';
import { probe } from './probe.js';
import { formatStage } from './run.js';
import { syntheticSuite, type TaskData } from './suite.js';
import { StageRunner } from './runner.js';

/**
 * The model at `modelPath` after the default plan's format stage (seed 0), measured on the
 * synthetic suite; `only` restricts it to some tasks (a spot check: the means then cover those).
 */
export async function measureBase(modelPath: string, o: { only?: readonly string[]; log?: (m: string) => void } = {}): Promise<BaseMeasurement> {
  const plan = makePlan('default', 0);
  const { config, params } = await readCheckpoint(modelPath);
  const tokenizer = await tokenizerForModel(modelPath, config);
  const suite = syntheticSuite(plan);
  const ctx: Context = { config, base: params, given: params, device: 'cpu', precision: 'f32', tokenizer, suite, plan, runner: new StageRunner({ jobs: 1, threads: 1, model: modelPath }), log: o.log ?? (() => {}) };
  await formatStage(ctx);
  const of = (kind: TaskData['kind']) => suite.tasks.filter((t) => t.kind === kind && (!o.only || o.only.includes(t.name)));
  const loss: Record<string, number> = {};
  const accuracy: Record<string, number> = {};
  await withModel(ctx, async (m) => {
    for (const t of [...of('basic'), ...of('complex')]) loss[t.name] = (await probe(m, t.probe, tokenizer)).loss;
    for (const t of of('basic')) accuracy[t.name] = await exactMatchAccuracy(m, t.test, { tokenizer, check: t.check });
  });
  return {
    loss,
    accuracy,
    meanBasicLoss: mean(of('basic').map((t) => loss[t.name]!)),
    meanComplexLoss: mean(of('complex').map((t) => loss[t.name]!)),
  };
}

/** What make-model and check-base record beside a model (base.json's `acceptance`). */
export interface AcceptanceRecord {
  criteria: typeof BASE_CRITERIA;
  measured: BaseMeasurement;
  results: CriterionResult[];
  holds: boolean;
}

export function acceptanceRecord(m: BaseMeasurement): AcceptanceRecord {
  const results = judgeBase(m);
  return { criteria: BASE_CRITERIA, measured: m, results, holds: results.every((r) => r.holds) };
}
