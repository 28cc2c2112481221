// headgrad bench: this machine's speed on pattern extraction and training steps, beside PyTorch's
// on the same work where a python3 imports torch (lib/bench/peers.ts). CPU, this process's threads
// (HEADGRAD_THREADS). Progress on stderr, the table (or JSON) on stdout.
import type { Command } from 'commander';
import { formatTable } from '../bench/table.js';
import { positiveInt } from './inputs.js';

interface BenchCommandOptions { reps: number; small?: boolean; json: boolean }

export function register(program: Command): void {
  program
    .command('bench')
    .description('measure pattern extraction and training steps on this CPU, beside PyTorch where python3 imports torch (minutes)')
    .option('--reps <n>', 'interleaved repetitions per side (the median is reported)', positiveInt, 3)
    .option('--small', 'every row at a tiny size: checks that everything runs (seconds), measures nothing')
    .option('--json', 'print the timings as JSON', false)
    .action(async (o: BenchCommandOptions) => {
      // --small shrinks every shape; the shapes are fixed when lib/bench/peers.ts is first imported.
      if (o.small) process.env.HEADGRAD_PEERS_TINY = '1';
      const { peers } = await import('../bench/peers.js');
      const section = await peers({ reps: o.reps });
      console.log(o.json ? JSON.stringify(section) : formatTable(section));
    });
}
