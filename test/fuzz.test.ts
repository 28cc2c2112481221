// Bounded fuzzing in the suite: scripts/fuzz.ts throws malformed calls at the attention API,
// the GPT API and the checkpoint loaders in child processes for about 30 s (a fresh seed each
// run, printed so that a failure can be repeated). A crash, an abort or a hang fails the test.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('malformed calls are refused with errors, never a crash (30 s of fuzzing in 2 child processes)', () => {
  const seed = Number(process.env.HEADGRAD_TEST_SEED ?? Math.floor(Math.random() * 1e6));
  console.log(`  fuzz: seed ${seed} (HEADGRAD_TEST_SEED to repeat)`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'fuzz.ts'),
    '--seconds', '30', '--calls', '1000000', '--children', '2', '--seed', String(seed)], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  const out = r.stdout ?? '';
  assert.is(r.status, 0, `fuzz failed (seed ${seed}):\n${out}\n${r.stderr}`);
  const m = /fuzz: (\d+) calls, 0 crashes/.exec(out);
  assert.ok(m, out);
  assert.ok(Number(m![1]) >= 100, `only ${m![1]} calls in 30 s`);
});

test.run();
