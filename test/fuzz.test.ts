// Bounded fuzzing in the suite: scripts/fuzz.ts throws malformed calls at the attention API,
// the GPT API and the checkpoint loaders in child processes for about 30 s (the seed from
// testSeed, printed so that a failure can be repeated). A crash, an abort or a hang fails the test.
// Each seed costs 30 s, so the seed sweep leaves this file out unless asked (--expensive):
// test:seeds: expensive
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testSeed } from './helpers/seed.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('malformed calls are refused with errors, never a crash (30 s of fuzzing in 2 child processes)', () => {
  const seed = testSeed('fuzz');
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'fuzz.ts'),
    '--seconds', '30', '--calls', '1000000', '--children', '2', '--seed', String(seed)], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  const out = r.stdout ?? '';
  assert.is(r.status, 0, `fuzz failed (seed ${seed}):\n${out}\n${r.stderr}`);
  const m = /fuzz: (\d+) calls, 0 crashes/.exec(out);
  assert.ok(m, out);
  assert.ok(Number(m![1]) >= 100, `only ${m![1]} calls in 30 s`);
});

test.run();
