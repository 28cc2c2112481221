// `headgrad reproduce`: the paper's three findings and its application, measured end to end on
// the shipped model (or --model) and the synthetic task suite (or --tasks DIR), written as
// report.html + report.json. Progress on stderr; the verdicts on stdout.
import type { Command } from 'commander';
import { nonNegativeInt, printResult } from './inputs.js';
import { judgeAll } from '../reproduce/verdicts.js';

interface ReproduceCliOptions {
  model?: string;
  tasks?: string;
  out: string;
  quick?: boolean;
  full?: boolean;
  seed: number;
  json: boolean;
}

export function register(program: Command): void {
  program
    .command('reproduce')
    .description("reproduce the paper's findings and application on the shipped model; writes report.html and report.json")
    .option('--model <file>', 'any checkpoint the engine loads (default: the shipped models/base.safetensors)')
    .option('--tasks <dir>', 'your own tasks: DIR/basic/*.jsonl, DIR/complex/*.jsonl, DIR/control/*.jsonl, DIR/manifest.json (see README)')
    .option('--out <dir>', 'report folder', 'reproduce-report')
    .option('--quick', 'smoke test, under a minute (too small for the numbers to mean much)')
    .option('--full', 'more seeds, budgets and steps than the default')
    .option('--seed <n>', 'base seed of data, batch orders and random heads', nonNegativeInt, 0)
    .option('--json', 'print the verdicts as JSON', false)
    .action(async (o: ReproduceCliOptions) => {
      if (o.quick && o.full) throw new Error('give at most one of --quick and --full');
      const preset = o.quick ? 'quick' : o.full ? 'full' : 'default';
      // loaded here, not at the top, so that the CLI's other commands work without the native addon
      const { reproduce } = await import('../reproduce/run.js');
      const { result, html, json } = await reproduce({ model: o.model, tasks: o.tasks, out: o.out, preset, seed: o.seed });
      const verdicts = judgeAll(result);
      printResult(o.json, { html, json, seconds: result.seconds.total, verdicts }, () => [
        ...verdicts.map((v) => `${v.verdict.toUpperCase().padEnd(14)}${v.claim}\n${' '.repeat(14)}${v.evidence}`),
        `report: ${html} (${Math.round(result.seconds.total!)} s)`,
      ]);
    });
}
