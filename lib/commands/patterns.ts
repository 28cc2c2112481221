// `headgrad patterns`: the activation pattern of a saved model on a task or a JSONL file,
// written as a pattern file with provenance and/or printed.
import type { Command } from 'commander';
import { writePattern } from '../patterns/pattern.js';
import { gini, cv, topK } from '../patterns/metrics.js';
import { activationPattern, patternProvenance } from '../patterns/activation.js';
import { positiveInt, nonNegativeInt, requireModel, requireOutputDir, checkDataSource, loadData, printResult, loadModel } from './inputs.js';

interface PatternsOptions {
  model: string;
  data?: string;
  task?: string;
  samples: number;
  batch: number;
  seed: number;
  out?: string;
  json: boolean;
}

export function register(program: Command): void {
  program
    .command('patterns')
    .description("activation pattern (mean |∂L(x)/∂ξ| per head) of a model on a task's or a file's samples")
    .requiredOption('--model <path>', 'the model: a checkpoint file or a Hugging Face model folder')
    .option('--data <file>', 'JSONL of {"prompt","response"} samples (the first --samples lines)')
    .option('--task <name>', 'a task of the synthetic suite')
    .option('--samples <n>', 'samples averaged', positiveInt, 64)
    .option('--batch <n>', 'samples per forward/backward pass (speed only; the pattern does not depend on it)', positiveInt, 16)
    .option('--seed <n>', 'seeds the generated task samples', nonNegativeInt, 0)
    .option('--out <file>', 'write a pattern file (JSON with provenance)')
    .option('--json', 'print the pattern as JSON', false)
    .action(async (o: PatternsOptions) => {
      await requireModel(o.model);
      await checkDataSource(o);
      if (o.out) await requireOutputDir(o.out, '--out');
      using loaded = await loadModel(o.model);
      const { model, tokenizer } = loaded;
      const { samples, name } = await loadData(o, o.samples, o.seed);
      const ap = await activationPattern(model, samples, { tokenizer, batchSize: o.batch });
      const provenance = patternProvenance(model, samples, { seed: o.seed, task: name });
      if (o.out) await writePattern(o.out, ap, { signed: ap.signed, provenance });

      const top = topK(ap.values, Math.min(5, ap.values.length));
      const result = {
        layers: ap.layers, heads: ap.heads, values: [...ap.values], signed: [...ap.signed],
        gini: gini(ap.values), cv: cv(ap.values), top, provenance, ...(o.out ? { out: o.out } : {}),
      };
      printResult(o.json, result, () => [
        `activation pattern on ${name} (${samples.length} samples), ${ap.layers} layers × ${ap.heads} heads`,
        ...table(ap.values, ap.layers, ap.heads),
        `gini ${result.gini.toFixed(3)}, cv ${result.cv.toFixed(3)}; top heads ${top.map((j) => `L${Math.floor(j / ap.heads)}H${j % ap.heads}`).join(', ')}`,
        ...(o.out ? [`wrote ${o.out}`] : []),
      ]);
    });
}

/** One line per layer: the layer's head values. */
function table(values: Float64Array, layers: number, heads: number): string[] {
  const lines: string[] = [];
  for (let l = 0; l < layers; l++) {
    const row = Array.from(values.subarray(l * heads, (l + 1) * heads), (v) => v.toExponential(2).padStart(10));
    lines.push(`  layer ${String(l).padStart(2)}: ${row.join(' ')}`);
  }
  return lines;
}
