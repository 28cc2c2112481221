// headgrad decompose: fit a target pattern as a combination of base patterns (docs/method.md finding 2).
//
// Pattern files are those written by writePattern (`headgrad patterns`). For ΔAP, either pass
// ΔAP files directly, or pass the after-SFT files as --target/--base and the base-model files
// as --target-before/--base-before NAME=FILE: then every pattern is replaced by after − before,
// so a before is required for the target and for every base (mixing ΔAP and AP is refused).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { decompose, type Decomposition, type DecomposeMethod } from '../patterns/decompose.js';
import { deltaPattern, readPattern, type Pattern } from '../patterns/pattern.js';
import { decompositionReport } from '../report/decomposition.js';
import { formatNumber } from '../report/format.js';
import { writeReport } from '../report/html.js';
import { integerAtLeast, nonNegativeInt, printResult } from './inputs.js';
import { HeadgradError } from '../errors.js';

const EXAMPLES = `
Examples:
  headgrad decompose --target sgsm-delta.json --base math=gsm8k-delta.json --base code=csn-delta.json
  headgrad decompose --method nnls --intercept --json \\
    --target sgsm-sft.json --target-before sgsm-base.json \\
    --base math=gsm8k-sft.json --base-before math=gsm8k-base.json \\
    --base code=csn-sft.json --base-before code=csn-base.json`;

interface Options {
  target: string;
  base?: [string, string][];
  targetBefore?: string;
  baseBefore?: [string, string][];
  method: DecomposeMethod;
  intercept: boolean;
  permutations: number;
  seed: number;
  report?: string;
  json?: boolean;
}

function namedFile(value: string, previous: [string, string][] = []): [string, string][] {
  const m = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`expected NAME=FILE (NAME of letters, digits, _ . -), got "${value}"`);
  if (previous.some(([name]) => name === m[1])) throw new InvalidArgumentError(`the name "${m[1]}" is given twice`);
  return [...previous, [m[1]!, m[2]!]];
}

export function register(program: Command): void {
  program
    .command('decompose')
    .description('fit a target pattern as a linear combination of base patterns, with a permutation p-value')
    .requiredOption('--target <file>', 'the target pattern file (e.g. ΔAP of the complex task)')
    .option('--base <name=file>', 'a base pattern (repeat for each basic task)', namedFile)
    .option('--target-before <file>', 'base-model pattern of the target: fit target − before (ΔAP)')
    .option('--base-before <name=file>', 'base-model pattern of base NAME (repeat; required for every base with --target-before)', namedFile)
    .addOption(new Option('--method <method>', 'least squares, or non-negative coefficients').choices(['ols', 'nnls']).default('ols'))
    .option('--intercept', 'fit an intercept (never constrained, also with nnls)', false)
    .option('--permutations <n>', 'permutations for the p-value', integerAtLeast(1), 1000)
    .option('--seed <n>', 'seed of the permutations', nonNegativeInt, 0)
    .option('--report <dir>', 'also write report.html and report.json into this directory')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: Options) => {
      const { target, bases, delta } = await loadPatterns(opts);
      console.error(`[decompose] ${Object.keys(bases).length} bases, ${target.values.length} heads, ${opts.permutations} permutations`);
      const result = decompose(target, bases, { method: opts.method, intercept: opts.intercept, permutations: opts.permutations, seed: opts.seed });
      if (opts.report) {
        const spec = decompositionReport(result, target, bases, { targetName: opts.target, delta });
        const { html } = await writeReport(opts.report, spec, { result, files: { target: opts.target, targetBefore: opts.targetBefore, base: opts.base, baseBefore: opts.baseBefore } });
        console.error(`[decompose] wrote ${html}`);
      }
      printResult(opts.json ?? false, result, () => describe(result, opts.target, delta));
    });
}

async function loadPatterns(opts: Options): Promise<{ target: Pattern; bases: Record<string, Pattern>; delta: boolean }> {
  const baseFiles = opts.base ?? [];
  const beforeFiles = opts.baseBefore ?? [];
  if (baseFiles.length === 0) throw new HeadgradError('ERR_HEADGRAD_USAGE', 'decompose: give at least one --base NAME=FILE');
  const before = new Map(beforeFiles);
  const delta = opts.targetBefore !== undefined;
  for (const [name] of beforeFiles) {
    if (!baseFiles.some(([n]) => n === name)) throw new HeadgradError('ERR_HEADGRAD_USAGE', `decompose: --base-before ${name}=… has no matching --base ${name}=…`);
  }
  if (delta ? before.size !== baseFiles.length : before.size > 0) {
    throw new HeadgradError('ERR_HEADGRAD_USAGE', 'decompose: for ΔAP give --target-before and a --base-before for every base (or none of them, to fit the patterns as they are)');
  }
  const load = async (after: string, beforeFile: string | undefined) => {
    const a = await readPattern(after);
    return beforeFile === undefined ? a : deltaPattern(a, await readPattern(beforeFile));
  };
  const target = await load(opts.target, opts.targetBefore);
  const bases: Record<string, Pattern> = {};
  for (const [name, file] of baseFiles) bases[name] = await load(file, before.get(name));
  return { target, bases, delta: delta || (target as { kind?: string }).kind === 'delta' };
}

function describe(r: Decomposition, targetFile: string, delta: boolean): string[] {
  const f = (x: number) => formatNumber(x, 4);
  const names = Object.keys(r.coefficients);
  const width = Math.max(9, ...names.map((n) => n.length)) + 2;
  return [
    `target     ${targetFile} (${delta ? 'ΔAP' : 'pattern'}, ${r.n} heads)`,
    `method     ${r.method}${r.intercept !== undefined ? ', with intercept' : ', no intercept'}`,
    '',
    `${'base'.padEnd(width)}${'coefficient'.padEnd(14)}R² without it`,
    ...names.map((n) => `${n.padEnd(width)}${f(r.coefficients[n]!).padEnd(14)}${f(r.leaveOneOut[n]!)}`),
    ...(r.intercept !== undefined ? [`${'intercept'.padEnd(width)}${f(r.intercept)}`] : []),
    '',
    `R² ${f(r.r2)}   adjusted R² ${f(r.adjustedR2)}   p = ${f(r.pValue)} (${r.permutations} permutations, seed ${r.seed})`,
    ...r.notes.map((n) => `note: ${n}`),
  ];
}
