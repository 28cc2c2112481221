// The CLI in a copy of the package whose native addon was never built (lib/ and package.json
// copied, node_modules linked, no build/): decompose and report still work, since they need no
// engine; info and the engine commands fail with one line that names the fix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePattern, type Pattern } from '../lib/patterns/pattern.js';
import { suiteTempDir } from './helpers/temp_dir.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = suiteTempDir(test, 'no-addon');
const pkg = path.join(dir, 'pkg');
cpSync(path.join(root, 'lib'), path.join(pkg, 'lib'), { recursive: true });
cpSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');

function cli(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, HEADGRAD_DEBUG: '' };
  delete env.HEADGRAD_ADDON;
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(pkg, 'lib', 'cli.ts'), ...args], { cwd: pkg, encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const provenance = { modelHash: 'm', dataHash: 'd', samples: 4, seed: 1 };
const p = (values: number[]): Pattern => ({ layers: 2, heads: 3, values: Float64Array.from(values) });

test('decompose and report run without the addon; info names the missing addon and the fix', async () => {
  const a = [0.1, 0.5, 0.2, 0.9, 0.3, 0.4], b = [0.7, 0.1, 0.3, 0.2, 0.8, 0.6];
  await writePattern(path.join(dir, 'a.json'), p(a), { provenance });
  await writePattern(path.join(dir, 'b.json'), p(b), { provenance });
  await writePattern(path.join(dir, 't.json'), p(a.map((x, i) => 2 * x + 0.5 * b[i]!)), { provenance });
  const f = (name: string) => path.join(dir, name);
  const r = cli('decompose', '--target', f('t.json'), '--base', `a=${f('a.json')}`, '--base', `b=${f('b.json')}`, '--permutations', '10', '--json', '--report', f('rep'));
  assert.is(r.status, 0, r.stderr);
  const fit = JSON.parse(r.stdout);
  assert.ok(Math.abs(fit.coefficients.a - 2) < 1e-9 && Math.abs(fit.coefficients.b - 0.5) < 1e-9, r.stdout);
  const rep = cli('report', f('rep/report.json'));
  assert.is(rep.status, 0, rep.stderr);
  assert.match(readFileSync(path.join(dir, 'rep', 'report.html'), 'utf8'), /<figure><svg/);

  const info = cli('info');
  assert.is(info.status, 1);
  assert.is(info.stdout, '');
  assert.match(info.stderr, /^headgrad: .*could not load the native addon/);
  assert.match(info.stderr, /npm run build:native/);
  assert.not.match(info.stderr, /\n\s+at /);
});

test.run();
