// `headgrad reproduce`: the paper's three findings and its application, measured end to end on
// the shipped model (or --model) and the synthetic task suite (or --tasks DIR), written as
// report.html + report.json. Progress on stderr; the verdicts on stdout. --lr, --steps, --batch,
// --seeds and --device make it usable on a pretrained model, whose learning rate and batch
// differ from the shipped model's.
import { InvalidArgumentError, type Command } from 'commander';
import { integerAtLeast, nonNegativeInt, positiveInt, positiveNumber, printResult } from './inputs.js';
import { judgeAll } from '../reproduce/verdicts.js';
import { HeadgradError } from '../errors.js';
import { deviceOption, precisionOption, type EngineOptions } from './engine_options.js';

interface ReproduceCliOptions {
  model?: string;
  tasks?: string;
  out: string;
  quick?: boolean;
  full?: boolean;
  seed: number;
  json: boolean;
  lr?: number;
  steps?: number;
  batch?: number;
  seeds?: number;
  device: EngineOptions['device'];
  precision: EngineOptions['precision'];
  apNorm?: 'mean' | 'sample';
  maxNewTokens?: number;
  format: boolean;
  jobs: number | 'auto';
}

function oneOf<T extends string>(values: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}, got "${v}"`);
    return v as T;
  };
}

const jobsCount = integerAtLeast(1, '"auto" or a positive integer');

function jobsOption(v: string): number | 'auto' {
  return v === 'auto' ? v : jobsCount(v);
}

export function register(program: Command): void {
  program
    .command('reproduce')
    .description("reproduce the paper's findings and application on the shipped model; writes report.html and report.json")
    .option('--model <path>', 'any checkpoint the engine loads, file or folder (default: the shipped models/base.safetensors)')
    .option('--tasks <dir>', 'your own tasks: DIR/basic/*.jsonl, DIR/complex/*.jsonl, DIR/control/*.jsonl, DIR/format/*.jsonl, DIR/manifest.json (see docs/reproduce.md)')
    .option('--out <dir>', 'report folder', 'reproduce-report')
    .option('--quick', 'smoke test, under a minute (too small for the numbers to mean much)')
    .option('--full', 'more seeds and larger sets than the default')
    .option('--seed <n>', 'base seed of data, batch orders and random heads', nonNegativeInt, 0)
    .option('--lr <x>', 'peak learning rate of every SFT stage (default: the preset\'s, 1e-3)', positiveNumber)
    .option('--steps <n>', 'SFT steps of finding 1 (default: 2 epochs of its samples)', positiveInt)
    .option('--batch <n>', 'SFT batch size (default: the preset\'s)', positiveInt)
    .option('--seeds <n>', 'SFT seeds for findings 1-3 and the application (default: the preset\'s)', positiveInt)
    .addOption(deviceOption())
    .addOption(precisionOption())
    .option('--ap-norm <how>', "AP the findings use: 'mean' (the paper's mean |score|) or 'sample' (each sample's scores normalised to sum 1)", oneOf(['mean', 'sample'] as const))
    .option('--max-new-tokens <n>', 'tokens generated per test answer (default: the reference length + 1; longer for reasoning answers)', positiveInt)
    .option('--no-format', 'skip the format stage (a pretrained instruction-aware model needs none)')
    .option('--jobs <n>', "worker processes of one engine thread each for the independent SFT runs: 'auto' (the engine's threads, where a stage has at least that many runs) or N (1: every run in this process, with all threads)", jobsOption, 'auto')
    .option('--json', 'print the verdicts as JSON', false)
    .action(async (o: ReproduceCliOptions) => {
      if (o.quick && o.full) throw new HeadgradError('ERR_HEADGRAD_USAGE', 'give at most one of --quick and --full');
      const preset = o.quick ? 'quick' : o.full ? 'full' : 'default';
      // loaded here, not at the top, so that the CLI's other commands work without the native addon
      const { reproduce } = await import('../reproduce/run.js');
      const { result, html, json } = await reproduce({
        model: o.model, tasks: o.tasks, out: o.out, preset, seed: o.seed, device: o.device, precision: o.precision, jobs: o.jobs,
        overrides: { lr: o.lr, steps: o.steps, batch: o.batch, seeds: o.seeds, apNorm: o.apNorm, maxNewTokens: o.maxNewTokens, noFormat: !o.format },
      });
      const verdicts = judgeAll(result);
      printResult(o.json, { html, json, seconds: result.seconds.total, verdicts }, () => [
        ...verdicts.map((v) => `${v.verdict.toUpperCase().padEnd(14)}${v.claim}\n${' '.repeat(14)}${v.evidence}`),
        `report: ${html} (${Math.round(result.seconds.total!)} s)`,
      ]);
    });
}
