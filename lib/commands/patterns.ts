// `headgrad patterns`: the activation pattern of a saved model on a task or a JSONL file,
// written as a pattern file with provenance and/or printed. With --shard K/N only every N-th
// batch of the run is scored and a partial pattern is written; `headgrad patterns merge` adds
// the N partials up into the pattern of the whole run (patterns/partial.ts).
import { InvalidArgumentError, type Command } from 'commander';
import { writePattern } from '../patterns/pattern.js';
import { gini, cv, topK } from '../patterns/metrics.js';
import { activationPattern, activationSums, patternProvenance, type ShardSpec } from '../patterns/activation.js';
import { mergePartials, readPartial, writePartial } from '../patterns/partial.js';
import { positiveInt, nonNegativeInt, requireModel, requireOutputDir, checkDataSource, loadData, printResult, loadModel } from './inputs.js';
import { HeadgradError } from '../errors.js';
import { deviceOption, precisionOption, type EngineOptions } from './engine_options.js';

interface PatternsOptions {
  device: EngineOptions['device'];
  precision: EngineOptions['precision'];
  model: string;
  data?: string;
  task?: string;
  samples: number;
  batch: number;
  seed: number;
  out?: string;
  shard?: ShardSpec;
  json: boolean;
}

/** "K/N" with 1 <= K <= N. */
function shardSpec(v: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const index = Number(m?.[1]);
  const of = Number(m?.[2]);
  if (!m || index < 1 || of < 1 || index > of) throw new InvalidArgumentError(`expected K/N with 1 <= K <= N, e.g. 2/8, got "${v}"`);
  return { index, of };
}

export function register(program: Command): void {
  const patterns = program
    .command('patterns')
    // so that `patterns merge --out X` gives --out to merge, not to patterns
    .enablePositionalOptions()
    .description("activation pattern (mean |∂L(x)/∂ξ| per head) of a model on a task's or a file's samples")
    // not commander's requiredOption: that would demand --model of `patterns merge` too
    .option('--model <path>', 'the model: a checkpoint file or a Hugging Face model folder (required)')
    .option('--data <file>', 'JSONL of {"prompt","response"} or {"messages"} samples (the first --samples lines)')
    .option('--task <name>', 'a task of the synthetic suite')
    .option('--samples <n>', 'samples averaged', positiveInt, 64)
    .option('--batch <n>', 'samples per forward/backward pass (speed; it fixes the batch plan that --shard splits)', positiveInt, 16)
    .option('--seed <n>', 'seeds the generated task samples', nonNegativeInt, 0)
    .option('--out <file>', 'write a pattern file (JSON with provenance)')
    .option('--shard <K/N>', 'score only shard K of N (every N-th batch) and write a partial pattern to --out; combine with `patterns merge`', shardSpec)
    .addOption(deviceOption())
    .addOption(precisionOption())
    .option('--json', 'print the pattern as JSON', false)
    .action(async (o: PatternsOptions) => {
      if (o.model === undefined) throw new HeadgradError('ERR_HEADGRAD_USAGE', "required option '--model <path>' not specified");
      await requireModel(o.model);
      await checkDataSource(o);
      if (o.shard && !o.out) throw new HeadgradError('ERR_HEADGRAD_USAGE', '--shard needs --out FILE for the partial pattern');
      if (o.out) await requireOutputDir(o.out, '--out');
      using loaded = await loadModel(o.model, o);
      const { model, tokenizer } = loaded;
      const { samples, name } = await loadData(o, o.samples, o.seed);
      const provenance = patternProvenance(model, samples, { seed: o.seed, task: name });
      if (o.shard) {
        const sums = await activationSums(model, samples, { tokenizer, batchSize: o.batch, shard: o.shard });
        await writePartial(o.out!, { sums, shard: { ...o.shard, batchSize: o.batch }, provenance });
        const result = { shard: `${o.shard.index}/${o.shard.of}`, samples: sums.count, of: samples.length, out: o.out, provenance };
        printResult(o.json, result, () => [`shard ${result.shard}: ${sums.count} of ${samples.length} samples on ${name}; wrote ${o.out}`]);
        return;
      }
      const ap = await activationPattern(model, samples, { tokenizer, batchSize: o.batch });
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
  registerMerge(patterns);
}

function registerMerge(patterns: Command): void {
  patterns
    .command('merge')
    .description('combine the partial patterns of `patterns --shard K/N` (all N of them) into the pattern of the whole run')
    .argument('<files...>', 'the partial pattern files, in any order')
    .requiredOption('--out <file>', 'the pattern file to write')
    .option('--json', 'print the pattern as JSON', false)
    .action(async (files: string[], o: { out: string; json: boolean }) => {
      await requireOutputDir(o.out, '--out');
      const parts = [];
      for (const file of files) parts.push({ file, partial: await readPartial(file) });
      const { pattern: ap, provenance } = mergePartials(parts);
      await writePattern(o.out, ap, { signed: ap.signed, provenance });
      printResult(o.json, { layers: ap.layers, heads: ap.heads, values: [...ap.values], signed: [...ap.signed], provenance, out: o.out }, () => [
        `merged ${files.length} shard(s), ${ap.samples} samples, ${ap.layers} layers × ${ap.heads} heads`,
        ...table(ap.values, ap.layers, ap.heads),
        `wrote ${o.out}`,
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
