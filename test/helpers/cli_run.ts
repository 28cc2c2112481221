// `headgrad ...` in a child process from the sources (tsx), asserting it succeeds: the CLI suites'
// runner. HEADGRAD_DEBUG is cleared so that a failure prints the user's message, not a stack.
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** Runs the CLI with these arguments; its stdout. */
export function cli(...args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, HEADGRAD_DEBUG: '' },
  });
  assert.is(r.status, 0, `headgrad ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** Runs the CLI with --json; its parsed output. */
export const cliJson = (...args: string[]) => JSON.parse(cli(...args, '--json'));
