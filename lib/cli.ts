#!/usr/bin/env node
// The headgrad command line. Results go to stdout (human text, or JSON with --json); progress
// and logs go to stderr. Every failure ends here: one line "headgrad: <message>" and exit code 1
// (the stack too when HEADGRAD_DEBUG=1).
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { VERSION } from './version.js';
import { isHeadgradError } from './errors.js';
import { handleInterrupts } from './commands/interrupt.js';
import * as decompose from './commands/decompose.js';
import * as info from './commands/info.js';
import * as report from './commands/report.js';
import * as pretrain from './commands/pretrain.js';
import * as sft from './commands/sft.js';
import * as patterns from './commands/patterns.js';
import * as ablate from './commands/ablate.js';
import * as reproduce from './commands/reproduce.js';
import * as bench from './commands/bench.js';

/** The commands, one module each (lib/commands/NAME.ts exporting register(program)). Add yours here. */
const COMMANDS: { register(program: Command): void }[] = [
  info,
  decompose,
  report,
  pretrain,
  sft,
  patterns,
  ablate,
  reproduce,
  bench,
];

export function buildProgram(): Command {
  const program = new Command('headgrad')
    .description('Attention-head gradient scores, activation patterns and their decomposition')
    .version(VERSION)
    // Set before the commands are registered so that they inherit both: commander throws instead
    // of exiting, and prints nothing itself; main() reports the error once.
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    // A command's own options end where its subcommand begins (`patterns merge --out X`).
    .enablePositionalOptions();
  for (const command of COMMANDS) command.register(program);
  return program;
}

/** Runs the CLI on argv and returns the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  handleInterrupts();
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0; // --help, --version
      if (e.code === 'commander.help') return 1; // no command given: commander has printed the help
      console.error(`headgrad: ${e.message.replace(/^error: /, '')} (see --help)`);
      return 1;
    }
    const message = e instanceof Error ? e.message : String(e);
    console.error(`headgrad: ${message}`);
    if (isHeadgradError(e) && e.code === 'ERR_HEADGRAD_ABORTED') return 130; // Ctrl-C, as a shell reports it
    if (process.env.HEADGRAD_DEBUG === '1' && e instanceof Error) console.error(e.stack);
    return 1;
  }
}

// Run when executed (node dist/cli.js, the npm bin link, node --import tsx lib/cli.ts), not when imported.
const invoked = process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invoked) process.exitCode = await main();
