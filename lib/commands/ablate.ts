// `headgrad ablate`: a task's exact-match accuracy with the top-k heads of an activation
// pattern gated off, against k random heads (several seeded draws) and no ablation.
import type { Command } from 'commander';
import { readPattern } from '../patterns/pattern.js';
import { ablateHeads } from '../patterns/ablation.js';
import { positiveInt, nonNegativeInt, requireFile, requireModel, requireTask, loadData, printResult, loadModel } from './inputs.js';
import { HeadgradError } from '../errors.js';
import { deviceOption, precisionOption, type EngineOptions } from './engine_options.js';

interface AblateOptions {
  device: EngineOptions['device'];
  precision: EngineOptions['precision'];
  model: string;
  task: string;
  pattern: string;
  k: number;
  draws: number;
  samples: number;
  seed: number;
  json: boolean;
}

export function register(program: Command): void {
  program
    .command('ablate')
    .description("accuracy on a task with the pattern's top-k heads gated off, versus k random heads and no ablation")
    .requiredOption('--model <path>', 'the model: a checkpoint file or a Hugging Face model folder')
    .requiredOption('--task <name>', 'a task of the synthetic suite (its checker scores the answers)')
    .requiredOption('--pattern <file>', 'activation-pattern file whose top-k heads are ablated')
    .option('--k <n>', 'heads gated off', positiveInt, 4)
    .option('--draws <n>', 'random k-head draws', positiveInt, 5)
    .option('--samples <n>', 'task samples scored', positiveInt, 64)
    .option('--seed <n>', 'seeds the task samples and the random draws (use another seed than sft did to score unseen samples)', nonNegativeInt, 0)
    .addOption(deviceOption())
    .addOption(precisionOption())
    .option('--json', 'print the result as JSON', false)
    .action(async (o: AblateOptions) => {
      await requireModel(o.model);
      await requireFile(o.pattern, '--pattern');
      requireTask(o.task);
      const pattern = await readPattern(o.pattern);
      using loaded = await loadModel(o.model, o);
      const { model, tokenizer } = loaded;
      if (pattern.layers !== model.config.layers || pattern.heads !== model.config.heads) {
        throw new HeadgradError('ERR_HEADGRAD_USAGE', `--pattern ${o.pattern} is ${pattern.layers} × ${pattern.heads} (layers × heads) but the model is ${model.config.layers} × ${model.config.heads}`);
      }
      if (o.k > pattern.values.length) throw new HeadgradError('ERR_HEADGRAD_USAGE', `--k ${o.k} exceeds the model's ${pattern.values.length} heads`);
      const { samples, check } = await loadData({ task: o.task }, o.samples, o.seed);
      const r = await ablateHeads(model, samples, pattern, { tokenizer, check, k: o.k, draws: o.draws, seed: o.seed });

      const pct = (a: number) => `${(100 * a).toFixed(1)}%`;
      const name = (j: number) => `L${Math.floor(j / pattern.heads)}H${j % pattern.heads}`;
      printResult(o.json, { task: o.task, samples: samples.length, ...r }, () => [
        `ablation on ${o.task} (${samples.length} samples), k = ${o.k}`,
        `  ${'no ablation'.padEnd(18)}${pct(r.baseline)}`,
        `  ${`top-${o.k} AP heads`.padEnd(18)}${pct(r.topK.accuracy)}  (${r.topK.heads.map(name).join(', ')})`,
        `  ${`${o.k} random heads`.padEnd(18)}${pct(r.random.mean)} ± ${pct(r.random.std)}  (mean ± std over ${r.random.runs.length} draws)`,
      ]);
    });
}
