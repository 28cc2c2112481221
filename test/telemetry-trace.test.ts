// AP telemetry traces: the settling rule on constructed paths, the trace reader's errors, the
// CLI (headgrad sft --ap-trace, killed mid-run and resumed: complete lines only, and the same
// file as an uninterrupted run) and the trace report (headgrad report --trace), render-checked
// in headless Chromium where one is installed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GPT } from '../lib/index.js';
import { settling, settleWindow } from '../lib/telemetry/settle.js';
import { readTrace } from '../lib/telemetry/trace_file.js';
import { readReport } from '../lib/report/html.js';
import { findChromium } from '../scripts/find-chromium.mjs';
import { suiteTempDir } from './helpers/temp_dir.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = suiteTempDir(test, 'telemetry-trace');
const f = (name: string) => path.join(dir, name);
const CHROMIUM = findChromium();
const env = { ...process.env, HEADGRAD_THREADS: '2', HEADGRAD_DEBUG: '' };
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), ...args], { cwd: root, env, encoding: 'utf8' });

test('settling: a path that first moves sideways, then towards its end, settles when it turns (by hand: step 6)', () => {
  // 20 records (w = 1): 5 steps along e1, then 14 steps of 10·e2; the whole change is 5·e1 + 140·e2.
  // cos at t ≤ 5 is 5/|total| ≈ 0.036; at t = 6, d = 5·e1 + 10·e2 and cos = 1425/(11.18·140.09) ≈ 0.91.
  const records = Array.from({ length: 20 }, (_, t) => ({ step: 3 * t, ap: [1 + Math.min(t, 5), 1 + 10 * Math.max(0, t - 5), 2] }));
  const s = settling(records);
  assert.is(s.window, 1);
  assert.is(s.threshold, 0.9);
  assert.is(s.progress[0], 0);
  assert.ok(Math.abs(s.progress[5]! - 5 / Math.hypot(5, 140)) < 1e-12);
  assert.ok(s.progress[6]! >= 0.9 && s.progress[5]! < 0.9);
  assert.is(s.step, 18, 'reported as the record\'s step (3·6)');
  // a dip below the threshold later moves the settling point past it
  records[12]!.ap = [1 + 5 + 200, 1 + 10 * 7, 2];
  assert.is(settling(records).step, 39);
  // no change at all: no direction to settle in
  const flat = settling(Array.from({ length: 5 }, (_, t) => ({ step: t, ap: [1, 2] })));
  assert.is(flat.step, null);
  assert.ok(flat.progress.every(Number.isNaN));
  assert.equal([1, 29, 30, 100, 1000].map(settleWindow), [1, 1, 2, 5, 50]);
  assert.throws(() => settling([]), /at least one record/);
});

test('readTrace: errors name the file, the line and the problem', async () => {
  const line = (step: number, heads = 2) => JSON.stringify({ step, loss: 1, layers: 1, heads, ap: Array(heads).fill(0.5), signed: Array(heads).fill(0.1), gini: 0, cv: 0 });
  const cases: [string, RegExp][] = [
    ['', /no records/],
    [`${line(0)}\n{"step": 1,`, /bad.jsonl:2: not valid JSON/],
    [`${line(0)}\n${line(1, 3)}\n`, /bad.jsonl:2: 1 × 3 heads, but the lines before have 1 × 2/],
    [`${line(4)}\n${line(4)}\n`, /bad.jsonl:2: step 4 does not follow step 4/],
    [`${line(0).replace('"ap":[0.5,0.5]', '"ap":[0.5]')}\n`, /bad.jsonl:1: "ap" must be 2 finite numbers/],
    [`${line(0).replace('"loss":1', '"loss":null')}\n`, /bad.jsonl:1: "loss" must be a finite number, got null/],
  ];
  for (const [text, msg] of cases) {
    writeFileSync(f('bad.jsonl'), text);
    await readTrace(f('bad.jsonl')).then(() => assert.unreachable(`accepted ${text}`), (e: Error) => assert.match(e.message, msg));
  }
  await readTrace(f('none.jsonl')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /none.jsonl: no such file/));
  writeFileSync(f('ok.jsonl'), `${line(0)}\n${line(2)}`); // a last line without its newline still reads
  assert.equal((await readTrace(f('ok.jsonl'))).map((r) => r.step), [0, 2]);
});

test('headgrad sft --ap-trace killed (SIGKILL) mid-run leaves complete lines; --resume rewrites the same file as an uninterrupted run', async () => {
  const base = f('base.safetensors');
  const m = await GPT.create({ vocabSize: 260, maxSeqLen: 48, layers: 2, heads: 2, dim: 32, seed: 3 });
  await m.save(base);
  m.dispose();
  const args = (out: string, trace: string, ...more: string[]) => ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), 'sft',
    '--model', base, '--task', 'reverse', '--samples', '24', '--eval-samples', '6', '--steps', '30', '--batch', '4', '--lr', '3e-3',
    '--checkpoint-every', '3', '--out', out, '--ap-trace', trace, '--trace-every', '2', '--trace-samples', ...more];

  const whole = spawnSync(process.execPath, args(f('whole.safetensors'), f('whole.jsonl')), { cwd: root, env, encoding: 'utf8' });
  assert.is(whole.status, 0, whole.stderr);
  const records = await readTrace(f('whole.jsonl'));
  assert.equal(records.map((r) => r.step), [...Array.from({ length: 15 }, (_, i) => 2 * i), 29]);
  assert.ok(records.every((r) => r.samples!.length === 4 && r.samples!.every((i) => i >= 0 && i < 24)));

  const child = spawn(process.execPath, args(f('cut.safetensors'), f('cut.jsonl')), { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (/checkpoint at step 6 written/.test(stderr)) child.kill('SIGKILL');
  });
  assert.is(await ended, 'SIGKILL', `the run was not killed mid-way:\n${stderr}`);
  const cut = readFileSync(f('cut.jsonl'), 'utf8');
  assert.ok(cut.endsWith('\n'), 'the last line is complete');
  const kept = cut.split('\n').slice(0, -1).map((l) => JSON.parse(l) as { step: number });
  assert.ok(kept.length >= 3 && kept.length < records.length, `${kept.length} lines at the kill`);
  assert.ok(readFileSync(f('whole.jsonl'), 'utf8').startsWith(cut), 'the lines written so far are the uninterrupted run\'s');

  // a resume with other telemetry options is refused and leaves the trace as it was
  const refused = spawnSync(process.execPath, [...args(f('cut.safetensors'), f('cut.jsonl'), '--resume', f('cut.safetensors')), '--trace-every', '3'], { cwd: root, env, encoding: 'utf8' });
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /the run it continues had telemetry \{"every":2,"perSample":true\}, this one has \{"every":3,"perSample":true\}/);
  assert.is(readFileSync(f('cut.jsonl'), 'utf8'), cut);

  const rest = spawnSync(process.execPath, args(f('cut.safetensors'), f('cut.jsonl'), '--resume', f('cut.safetensors')), { cwd: root, env, encoding: 'utf8' });
  assert.is(rest.status, 0, rest.stderr);
  assert.ok(readFileSync(f('cut.jsonl')).equals(readFileSync(f('whole.jsonl'))), 'byte-identical traces');
});

test('headgrad report --trace: report.html + report.json beside the trace; bad calls name the problem', () => {
  const out = cli('report', '--trace', f('whole.jsonl'));
  assert.is(out.status, 0, out.stderr);
  assert.is(out.stdout.trim(), f('report.html'));
  const html = readFileSync(f('report.html'), 'utf8');
  assert.match(html, /<body data-figures="6">/);
  assert.match(html, /Rule: Each batch AP is replaced by the mean of the APs of the w recorded steps around it/);
  assert.match(html, /Here w = 1\./);
  assert.is(html.match(/<figure><svg/g)!.length, 6);
  assert.ok(existsSync(f('report.json')));
  const other = cli('report', '--trace', f('whole.jsonl'), '--out', f('trace.html'));
  assert.is(other.status, 0, other.stderr);
  assert.ok(existsSync(f('trace.html')));

  for (const [args, msg] of [
    [['report'], /report: give either a report.json or --trace FILE/],
    [['report', f('report.json'), '--trace', f('whole.jsonl')], /report: give either a report.json or --trace FILE/],
    [['report', '--trace', f('missing.jsonl')], /trace .*missing.jsonl: no such file/],
    [['report', '--trace', f('whole.jsonl'), '--out', f('no/such/dir/r.html')], /--out: the folder .* does not exist/],
    [['sft', '--model', f('base.safetensors'), '--task', 'reverse', '--out', f('x.safetensors'), '--trace-every', '2'], /--trace-every and --trace-samples need --ap-trace FILE/],
  ] as const) {
    const r = cli(...args);
    assert.is(r.status, 1);
    assert.match(r.stderr, msg);
  }
});

if (CHROMIUM.path) {
  test('render check: every figure of a trace report renders in headless Chromium', async () => {
    const r = spawnSync(process.execPath, ['scripts/render-check.mjs', f('report.html'), '--png', f('trace-report.png')], { cwd: root, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim());
    assert.equal({ expected: out.expected, rendered: out.rendered, ok: out.ok }, { expected: 6, rendered: 6, ok: true });
    const file = await readReport(f('report.json'));
    assert.ok(file.spec.sections.some((s) => s.heading === 'When the pattern settles'));
  });
} else {
  console.log(`  trace render check: skipped, no chromium (tried ${CHROMIUM.tried}; set HEADGRAD_CHROMIUM)`);
  test.skip('render check: every figure of a trace report renders in headless Chromium');
}

test.run();
