import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writePattern, type Pattern } from '../lib/index.js';
import { Rng } from '../lib/util/random.js';
import { suiteTempDir } from './helpers/temp_dir.js';
import { fixtureSeed } from './helpers/seed.js';

const dir = suiteTempDir(test, 'cli');
const provenance = { modelHash: 'm', dataHash: 'd', samples: 4, seed: 1 };

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'lib/cli.ts', ...args], { encoding: 'utf8', env: { ...process.env, HEADGRAD_DEBUG: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const rng = new Rng(fixtureSeed('cli') + 21);
const random = (): Pattern => ({ layers: 4, heads: 6, values: Float64Array.from({ length: 24 }, () => rng.next()) });
const combo = (a: Pattern, b: Pattern, ka: number, kb: number, c: number): Pattern => ({ ...a, values: a.values.map((v, i) => c + ka * v + kb * b.values[i]!) });
const file = (name: string) => path.join(dir, name);
const A = random();
const B = random();
const A0 = random();
const B0 = random();
const T0 = random();

test('setup: pattern files', async () => {
  await writePattern(file('a.json'), A, { provenance });
  await writePattern(file('b.json'), B, { provenance });
  await writePattern(file('t.json'), combo(A, B, 0.7, 0.2, 0.05), { provenance });
  // ΔAP pairs: (after − before) of the target = 1.5 ΔA + 0.25 ΔB exactly
  await writePattern(file('a0.json'), A0, { provenance });
  await writePattern(file('b0.json'), B0, { provenance });
  await writePattern(file('t0.json'), T0, { provenance });
  const dA = A.values.map((v, i) => v - A0.values[i]!);
  const dB = B.values.map((v, i) => v - B0.values[i]!);
  await writePattern(file('t1.json'), { ...T0, values: T0.values.map((v, i) => v + 1.5 * dA[i]! + 0.25 * dB[i]!) }, { provenance });
});

test('info --json parses and reports the version and backends', () => {
  const r = cli('info', '--json');
  assert.is(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.is(info.version, JSON.parse(readFileSync('package.json', 'utf8')).version);
  assert.ok(info.backend.cpu.threads >= 1);
  assert.type(info.backend.cuda.available, 'boolean');
  const text = cli('info');
  assert.match(text.stdout, /^headgrad \d+\.\d+\.\d+/);
});

test('--help works at the top and for each command', () => {
  const top = cli('--help');
  assert.is(top.status, 0);
  for (const c of ['info', 'decompose', 'report']) assert.match(top.stdout, new RegExp(`\\n  ${c} `));
  const d = cli('decompose', '--help');
  assert.is(d.status, 0);
  assert.match(d.stdout, /--target-before <file>/);
  assert.match(d.stdout, /Examples:/);
  assert.is(cli('report', '--help').status, 0);
});

test('decompose recovers known coefficients; results on stdout, progress on stderr', () => {
  const r = cli('decompose', '--target', file('t.json'), '--base', `math=${file('a.json')}`, '--base', `code=${file('b.json')}`, '--intercept', '--permutations', '99', '--json');
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(Math.abs(out.coefficients.math - 0.7) < 1e-9 && Math.abs(out.coefficients.code - 0.2) < 1e-9, r.stdout);
  assert.ok(Math.abs(out.intercept - 0.05) < 1e-9);
  assert.ok(Math.abs(out.r2 - 1) < 1e-12);
  assert.is(out.pValue, 0.01);
  assert.match(r.stderr, /\[decompose\] 2 bases, 24 heads, 99 permutations/);

  const text = cli('decompose', '--target', file('t.json'), '--base', `math=${file('a.json')}`, '--method', 'nnls', '--permutations', '10');
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, /method\s+nnls, no intercept/);
  assert.match(text.stdout, /\nmath\s+[\d.]+\s+/);
});

test('decompose with --target-before/--base-before fits the ΔAPs', () => {
  const r = cli(
    'decompose', '--json', '--permutations', '10',
    '--target', file('t1.json'), '--target-before', file('t0.json'),
    '--base', `a=${file('a.json')}`, '--base-before', `a=${file('a0.json')}`,
    '--base', `b=${file('b.json')}`, '--base-before', `b=${file('b0.json')}`,
  );
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(Math.abs(out.coefficients.a - 1.5) < 1e-9 && Math.abs(out.coefficients.b - 0.25) < 1e-9, r.stdout);
  const half = cli('decompose', '--target', file('t1.json'), '--target-before', file('t0.json'), '--base', `a=${file('a.json')}`);
  assert.is(half.status, 1);
  assert.match(half.stderr, /headgrad: decompose: for ΔAP give --target-before and a --base-before for every base/);
});

test('decompose --report writes report.html + report.json; report re-renders the same page', () => {
  const out = file('rep');
  const r = cli('decompose', '--target', file('t.json'), '--base', `math=${file('a.json')}`, '--base', `code=${file('b.json')}`, '--permutations', '10', '--report', out);
  assert.is(r.status, 0, r.stderr);
  const html = readFileSync(path.join(out, 'report.html'), 'utf8');
  assert.match(html, /<body data-figures="4">/);
  const json = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.ok(Math.abs(json.data.result.coefficients.math - 0.7) < 0.1);
  const again = cli('report', path.join(out, 'report.json'), '--out', file('again.html'));
  assert.is(again.status, 0, again.stderr);
  assert.is(again.stdout.trim(), file('again.html'));
  const page = readFileSync(file('again.html'), 'utf8');
  assert.is(page, html);
  // The page's numbers, read back from its table, against the fit computed here: t is exactly
  // 0.7·a + 0.2·b + 0.05, fitted without an intercept by the normal equations of [a b].
  const [a, b, t] = [A.values, B.values, combo(A, B, 0.7, 0.2, 0.05).values];
  const dot = (x: Float64Array, y: Float64Array) => x.reduce((s, v, i) => s + v * y[i]!, 0);
  const [aa, ab, bb, at, bt] = [dot(a, a), dot(a, b), dot(b, b), dot(a, t), dot(b, t)];
  const det = aa * bb - ab * ab;
  const want = { math: (bb * at - ab * bt) / det, code: (aa * bt - ab * at) / det };
  for (const [name, coef] of Object.entries(want)) {
    const row = new RegExp(`<tr><td>${name}</td><td class="num">([^<]*)</td>`).exec(page);
    assert.ok(row, `no table row for ${name}`);
    assert.ok(Math.abs(Number(row![1]) - coef) <= 5e-3 * Math.abs(coef), `${name}: page shows ${row![1]}, the fit is ${coef}`);
  }
  assert.is(page.match(/<figure>/g)!.length, 4);
});

test('bad paths and options: exit 1 and one clear line, no stack trace', () => {
  const missing = file('missing.json');
  const r = cli('decompose', '--target', missing, '--base', `x=${file('a.json')}`);
  assert.is(r.status, 1);
  assert.is(r.stderr.trim(), `headgrad: pattern file ${missing}: no such file`);
  assert.is(r.stdout, '');

  const unknown = cli('decompose', '--target', file('t.json'), '--bogus');
  assert.is(unknown.status, 1);
  assert.is(unknown.stderr.trim(), "headgrad: unknown option '--bogus' (see --help)");
  assert.not.match(unknown.stderr, /\n\s+at /);

  assert.match(cli('decompose', '--target', file('t.json'), '--base', 'no-equals-sign').stderr, /expected NAME=FILE/);
  assert.match(cli('decompose', '--target', file('t.json'), '--base', `x=${file('a.json')}`, '--method', 'lasso').stderr, /Allowed choices are ols, nnls/);
  assert.match(cli('decompose', '--target', file('t.json'), '--base', `x=${file('a.json')}`, '--permutations', '1.5').stderr, /expected an integer ≥ 1, got "1.5"/);
  assert.match(cli('decompose', '--base', `x=${file('a.json')}`).stderr, /required option '--target <file>' not specified/);
  const rep = cli('report', file('nothing.json'));
  assert.is(rep.status, 1);
  assert.match(rep.stderr, /report file .*nothing\.json: no such file/);
  const frob = cli('frobnicate');
  assert.is(frob.status, 1);
  assert.is(frob.stderr.trim(), "headgrad: unknown command 'frobnicate' (see --help)");
  assert.is(frob.stdout, '');
  const debug = spawnSync(process.execPath, ['--import', 'tsx', 'lib/cli.ts', 'report', file('nothing.json')], { encoding: 'utf8', env: { ...process.env, HEADGRAD_DEBUG: '1' } });
  assert.match(debug.stderr, /\n\s+at /); // HEADGRAD_DEBUG=1 adds the stack
});

test.run();
