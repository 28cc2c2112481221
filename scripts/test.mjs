#!/usr/bin/env node
// The test command (npm test): C++ tests through ctest when the cmake build has them, then the
// uvu suite (test/*.test.ts, through tsx). Ends with one line "N passed, N failed, N skipped"
// that sums both, and exits non-zero if anything failed or nothing ran.
//   HEADGRAD_BUILD_DIR  where the cmake build lives (default build)
//   HEADGRAD_TEST_FILTER  regex on test file names (uvu pattern), e.g. attention
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const buildDir = path.resolve(root, process.env.HEADGRAD_BUILD_DIR || 'build');
let passed = 0;
let failed = 0;
let skipped = 0;

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 28 });
  process.stdout.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  return r;
}

// 1. C++ tests
if (existsSync(path.join(buildDir, 'CTestTestfile.cmake')) && !process.env.HEADGRAD_TEST_FILTER) {
  const r = run('ctest', ['--test-dir', buildDir, '--output-on-failure']);
  const ctestOut = (r.stdout ?? '') + (r.stderr ?? '');
  const m = /(\d+)% tests passed, (\d+) tests failed out of (\d+)/.exec(ctestOut);
  // C++ tests that exit 77 (e.g. the CUDA tests without a GPU) are listed as "(Skipped)".
  const skippedTests = [...ctestOut.matchAll(/^\s*\d+ - (\S+) \(Skipped\)/gm)].map((s) => s[1]);
  for (const name of skippedTests) console.log(`[test] ${name}: skipped: no GPU or no CUDA backend`);
  if (m) {
    passed += Number(m[3]) - Number(m[2]) - skippedTests.length;
    failed += Number(m[2]);
    skipped += skippedTests.length;
  } else if (!/No tests were found/.test(ctestOut)) {
    console.error('[test] could not read ctest results');
    failed += 1;
  }
} else if (!process.env.HEADGRAD_TEST_FILTER) {
  console.log('[test] no cmake build with C++ tests (node-gyp build?): skipped the C++ tests');
}

// 2. uvu tests
const pattern = process.env.HEADGRAD_TEST_FILTER ? `${process.env.HEADGRAD_TEST_FILTER}.*\\.test\\.ts$` : '\\.test\\.ts$';
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');
const r = run(process.execPath, ['--import', 'tsx', uvu, 'test', pattern]);
const out = (r.stdout ?? '') + (r.stderr ?? '');
const total = /Total:\s+(\d+)/.exec(out);
const ok = /Passed:\s+(\d+)/.exec(out);
// uvu's Total counts the tests that ran; tests registered with test.skip (the GPU tests
// without a GPU, tests needing an optional tool) are under Skipped, not Total.
const skip = /Skipped:\s+(?:\x1b\[\d+m)?(\d+)/.exec(out);
if (total && ok) {
  passed += Number(ok[1]);
  failed += Number(total[1]) - Number(ok[1]);
  skipped += skip ? Number(skip[1]) : 0;
} else {
  console.error('[test] the uvu run ended without a summary (crashed?)');
  failed += 1;
}
if (r.status !== 0 && failed === 0) failed += 1;

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
