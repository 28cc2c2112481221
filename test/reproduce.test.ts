// `headgrad reproduce --quick` end to end on the shipped model (CI runs this: it must stay
// under a minute on 2 cores), the structure and internal consistency of report.json and
// report.html (every null beside its claim, intervals over seeds), the same report.json bit for
// bit from the runs on worker processes (--jobs 2) and in one process (--jobs 1), a run on user
// task files with the real-model options, and the errors that must come before any training.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GPT } from '../lib/model.js';
import { cv, gini } from '../lib/patterns/metrics.js';
import { getTask } from '../lib/data/tasks.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = mkdtempSync(path.join(tmpdir(), 'headgrad-reproduce-'));
const f = (name: string) => path.join(dir, name);

function cli(...args: string[]) {
  // one engine thread, so that --jobs 1 (every run in this process) and --jobs 2 (two one-thread
  // workers) must give the same bits whatever the engine does with more threads
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), 'reproduce', ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, HEADGRAD_DEBUG: '', HEADGRAD_THREADS: '1' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function readReport(out: string) {
  return { json: JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')), html: readFileSync(path.join(out, 'report.html'), 'utf8') };
}

const VERDICTS = ['agrees', 'partly agrees', 'disagrees', 'inconclusive'];
const inUnit = (x: number) => x >= 0 && x <= 1;

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('reproduce --quick on the shipped model writes a complete, consistent report', () => {
  const t0 = performance.now();
  const r = cli('--quick', '--out', f('quick'), '--json', '--jobs', '2');
  const seconds = (performance.now() - t0) / 1000;
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /finding 1: SFT on copy/); // progress goes to stderr
  assert.match(r.err, /SFT: 13 tasks × 2 seeds \(finding 1\), .*: 35 runs, 2 worker processes of one thread each/);
  const printed = JSON.parse(r.out);
  assert.is(printed.verdicts.length, 9);
  for (const v of printed.verdicts) assert.ok(VERDICTS.includes(v.verdict), v.verdict);
  console.error(`reproduce --quick: ${seconds.toFixed(1)} s`);

  const { json, html } = readReport(f('quick'));
  assert.is(json.format, 'headgrad-report');
  const headings = json.spec.sections.map((s: { heading: string }) => s.heading);
  for (const h of ['Summary', 'Setup', 'Finding 1', 'Finding 2', 'Finding 3', 'Application']) assert.ok(headings.some((x: string) => x.startsWith(h)), `section ${h}`);
  const d = json.data;
  const { layers, heads } = d.setup.model.config;
  const seeds = d.setup.plan.seeds;
  assert.is(d.setup.plan.preset, 'quick');
  assert.ok(seeds >= 2, 'even --quick has a spread over seeds');
  assert.ok(d.setup.model.shipped && /^[0-9a-f]{64}$/.test(d.setup.model.sha256));
  const shipped = JSON.parse(readFileSync(path.join(root, 'models', 'base.json'), 'utf8'));
  assert.is(d.setup.model.sha256, shipped.sha256, 'the shipped model matches the hash recorded in models/base.json');
  assert.is(d.setup.baseSkills.length, 7);
  assert.ok(d.setup.format.steps > 0 && d.setup.format.samples > 0, 'the format stage ran');
  const regime = json.spec.sections.find((s: { heading: string }) => s.heading === 'Setup').blocks.find((b: { caption?: string }) => b.caption?.startsWith('The regime'));
  assert.is(regime?.rows.length, 3, 'the Setup judges the base by the acceptance criteria');

  // finding 1: every task, APs of the right shape, metrics recomputable from the saved APs,
  // intervals over every seed and deltas that are after − before
  const names = d.finding1.tasks.map((t: { task: string }) => t.task);
  assert.is(names.length, 13);
  const near = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) <= tol;
  for (const t of d.finding1.tasks) {
    assert.is(t.ap.before.length, layers * heads);
    assert.ok(near(gini(t.ap.before), t.gini.before, 1e-12) && near(cv(t.ap.before), t.cv.before, 1e-12), t.task);
    assert.is(t.gini.after.values.length, seeds);
    t.gini.after.values.forEach((a: number, i: number) => assert.ok(near(a - t.gini.before, t.gini.delta.values[i]), t.task));
    assert.ok(t.gini.beforeCI[0] <= t.gini.beforeCI[1], `${t.task}: bootstrap interval`);
    assert.ok(t.gini.after.lo <= t.gini.after.mean && t.gini.after.mean <= t.gini.after.hi, t.task);
    assert.ok(t.baseLoss.given > 0 && t.baseLoss.base > 0 && near(t.baseLoss.base, t.loss.before), t.task);
    assert.ok(inUnit(t.accuracy.before) && t.accuracy.after.values.every(inUnit), t.task);
    assert.is(new Set(t.curve.map((c: { seed: number }) => c.seed)).size, seeds);
    assert.not.equal(t.ap.before, t.ap.after, `${t.task}: SFT changed the pattern`);
  }
  const m = d.finding1.correlation.matrix;
  assert.equal(d.finding1.correlation.labels, names);
  for (let i = 0; i < m.length; i++) {
    assert.ok(Math.abs(m[i][i] - 1) < 1e-9);
    for (let j = 0; j < i; j++) assert.ok(Math.abs(m[i][j] - m[j][i]) < 1e-12);
  }
  const sp = d.finding1.specificity;
  assert.ok(sp.pValue > 0 && sp.pValue <= 1 && near(sp.gap, sp.constituent - sp.other));
  assert.is(d.ablation.tasks.length, 13);
  for (const t of d.ablation.tasks) assert.is(t.heads.length, d.ablation.k);

  // finding 2: one decomposition per complex task on the 7 basic tasks, with every null
  assert.is(d.finding2.length, 4);
  for (const c of d.finding2) {
    assert.is(Object.keys(c.coefficients).length, 7);
    assert.equal(c.constituents, [...getTask(c.task).constituents]);
    assert.is(c.r2.values.length, seeds);
    for (const p of [...c.pValues, ...c.incremental.pValues]) assert.ok(p > 0 && p <= 1, `${c.task}: p ${p}`);
    assert.ok(c.baseOnly <= 1 && c.controls !== null && Number.isFinite(c.nullR2), c.task);
    // more predictors never fit worse: the incremental R² is ≥ 0, fewer bases ≤ all bases
    c.incremental.r2.values.forEach((x: number) => assert.ok(x >= -1e-9, `${c.task}: incremental R² ${x}`));
    c.r2WithoutConstituents.values.forEach((x: number, i: number) => assert.ok(x <= c.r2.values[i] + 1e-9, `${c.task}: fewer bases cannot fit better`));
  }

  // finding 3: a trajectory per task and seed from step 0 to the last step; budgets at matched epochs
  assert.is(d.finding3.trajectories.length, 13 * seeds);
  for (const t of d.finding3.trajectories) {
    assert.is(t.points[0].step, 0);
    assert.is(t.points[0].weightChange, 0);
    assert.is(t.points.at(-1).step, t.steps);
    assert.ok(Math.abs(t.points.at(-1).cosWithFinal - 1) < 1e-9);
    assert.ok(Math.abs(t.points.at(-1).corrWithFinal - 1) < 1e-9);
    // the training-batch trace: every step, compared at every snapshot step but the last
    assert.equal(t.trace.progress.map((p: { step: number }) => p.step), Array.from({ length: t.steps }, (_, i) => i));
    assert.equal(t.trace.steps, t.points.slice(0, -1).map((p: { step: number }) => p.step));
    assert.ok(t.trace.patternCorr >= -1 && t.trace.patternCorr <= 1, `pattern r ${t.trace.patternCorr}`);
  }
  for (const t of d.finding3.perTask) assert.is(t.trace.patternCorr.values.length, seeds);
  assert.is(d.finding3.perTask.length, 13);
  assert.is(d.finding3.budgets.length, 4 * d.setup.plan.budgets.length);
  const epochs = d.setup.plan.sft.epochs;
  for (const b of d.finding3.budgets) assert.is(b.steps, Math.max(1, Math.round((epochs * b.samples) / d.setup.plan.sft.batchSize)));

  // application: every complex task, six arms, one accuracy per seed, paired tests against pattern-mix
  assert.is(d.application.length, 4);
  for (const a of d.application) {
    assert.equal(a.arms.map((x: { arm: string }) => x.arm), ['sft-only', 'format-only', 'uniform-mix', 'random-mix', 'pattern-mix', 'heads']);
    for (const x of a.arms) {
      assert.is(x.accuracies.length, d.setup.plan.application.seeds);
      assert.ok(x.accuracies.every(inUnit));
    }
    assert.equal(Object.keys(a.tests).sort(), ['format-only', 'heads', 'random-mix', 'sft-only', 'uniform-mix']);
    assert.ok(Math.abs(Object.values(a.mix as Record<string, number>).reduce((s, v) => s + v, 0) - 1) < 1e-9);
  }

  // the page: every figure is an inline SVG, the paper's numbers and every null stand beside ours
  const figures = Number(/data-figures="(\d+)"/.exec(html)![1]);
  assert.ok(figures >= 13 * 3 + 4, `${figures} figures`);
  assert.is((html.match(/<figure><svg/g) ?? []).length, figures);
  assert.match(html, /0\.97/);
  assert.match(html, /Gini of AP before SFT/);
  for (const t of ['base APs only', '−AP_base alone', 'control bases', 'incremental R²', 'p (relabelling)', 'at half loss', 'vs uniform-mix', 'AP direction at 1/4: trace']) assert.ok(html.includes(t), t);
  assert.not.match(html, /PAPER\.md|DESIGN\.md/);
});

test('--jobs 1 (every run in this process) writes the same report.json as --jobs 2 (worker processes)', () => {
  const r = cli('--quick', '--out', f('sequential'), '--jobs', '1');
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /SFT: 13 tasks × 2 seeds \(finding 1\), .*: 35 runs, in this process/);
  const [workers, one] = [f('quick'), f('sequential')].map((d) => readReport(d).json.data);
  assert.is(workers.setup.workers, 2);
  assert.is(one.setup.workers, 1);
  // every number but the wall times to the last bit, and every other field (JSON writes the
  // shortest decimal that reads back as the same double)
  const c = spawnSync(process.execPath, [path.join(root, 'scripts', 'compare-reports.mjs'), f('quick/report.json'), f('sequential/report.json')], { encoding: 'utf8' });
  assert.is(c.status, 0, c.stdout + c.stderr);
  const compared = Number(/^(\d+) numbers compared, 0 differ/.exec(c.stdout)?.[1]);
  assert.ok(compared > 5000, c.stdout);
});

test('--tasks: user JSONL files with a manifest, on a small --model, with --seed, on worker processes', async () => {
  const tasks = f('tasks');
  const write = (kind: string, name: string, n: number) => {
    mkdirSync(path.join(tasks, kind), { recursive: true });
    const lines = getTask(name).generate(n, 1).map((s) => JSON.stringify(s));
    writeFileSync(path.join(tasks, kind, `${name}.jsonl`), lines.join('\n') + '\n');
  };
  write('basic', 'reverse', 60);
  write('basic', 'sort', 60);
  write('complex', 'sort-reverse', 60);
  write('control', 'parity', 60);
  write('format', 'copy', 40);
  writeFileSync(path.join(tasks, 'manifest.json'), JSON.stringify({ constituents: { 'sort-reverse': ['sort', 'reverse'] }, checks: { parity: 'regex:^(even|odd)' } }));
  const model = await GPT.create({ vocabSize: 260, maxSeqLen: 40, layers: 2, heads: 4, dim: 16, seed: 1 });
  await model.save(f('small.safetensors'));
  model.dispose();

  const r = cli('--quick', '--model', f('small.safetensors'), '--tasks', tasks, '--out', f('files'), '--lr', '2e-3', '--batch', '4', '--steps', '5', '--seeds', '2', '--ap-norm', 'sample', '--seed', '5', '--jobs', '2');
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /2 worker processes/, 'the workers read the same task files');
  const { json } = readReport(f('files'));
  assert.equal(json.data.setup.tasks.names, { basic: ['reverse', 'sort'], complex: ['sort-reverse'], control: ['parity'] });
  assert.equal(json.data.setup.tasks.checks, { reverse: 'exact', sort: 'exact', 'sort-reverse': 'exact', parity: 'regex:^(even|odd)' });
  const plan = json.data.setup.plan;
  assert.is(plan.seed, 5, '--seed reaches the plan');
  assert.is(plan.sft.lr, 2e-3);
  assert.is(plan.sft.batchSize, 4);
  assert.is(plan.seeds, 2);
  assert.is(plan.apNorm, 'sample');
  assert.is(json.data.setup.format.samples, 40, 'DIR/format/ feeds the format stage');
  assert.is(json.data.finding3.trajectories[0].steps, 5, '--steps sets the SFT length of finding 1');
  assert.is(json.data.setup.baseSkills, null);
  assert.equal(json.data.finding2[0].constituents, ['sort', 'reverse']);
  assert.is(json.data.finding1.tasks[0].ap.before.length, 8);
});

test('inputs that do not fit fail at once, naming the problem', async () => {
  const short = await GPT.create({ vocabSize: 260, maxSeqLen: 12, layers: 2, heads: 4, dim: 16 });
  await short.save(f('short.safetensors'));
  const tinyVocab = await GPT.create({ vocabSize: 100, maxSeqLen: 64, layers: 2, heads: 4, dim: 16 });
  await tinyVocab.save(f('vocab100.safetensors'));
  const fewHeads = await GPT.create({ vocabSize: 260, maxSeqLen: 64, layers: 1, heads: 2, dim: 16 });
  await fewHeads.save(f('heads2.safetensors'));
  for (const m of [short, tinyVocab, fewHeads]) m.dispose();
  mkdirSync(f('badtasks/basic'), { recursive: true });
  writeFileSync(f('badtasks/basic/a.jsonl'), '{"prompt":"x","response":"y"}\n');
  mkdirSync(f('badcheck'), { recursive: true });
  writeFileSync(f('badcheck/manifest.json'), JSON.stringify({ check: 'numbers' }));

  const cases: [string[], RegExp][] = [
    [['--model', f('short.safetensors')], /needs \d+ input tokens, the model's maxSeqLen is 12/],
    [['--model', f('vocab100.safetensors')], /vocabulary size 100 is too small/],
    [['--model', f('heads2.safetensors')], /the model has 2 heads; decomposing on 7 basic tasks/],
    [['--model', f('missing.safetensors')], /--model: no such file or folder/],
    [['--tasks', f('badtasks')], /a\.jsonl has 1 samples; this plan needs at least/],
    [['--tasks', f('nothing-here')], /--tasks: not a folder/],
    [['--quick', '--full'], /at most one of --quick and --full/],
    [['--lr', 'fast'], /--lr.*expected a number > 0/],
    [['--device', 'tpu'], /--device.*expected one of auto, cpu, cuda/],
    [['--jobs', 'many'], /--jobs.*expected "auto" or a positive integer, got "many"/],
    [['--jobs', '0'], /--jobs.*expected "auto" or a positive integer, got "0"/],
    [['--jobs', '100000'], /--jobs 100000: at most \d+ \(4 per CPU of this machine\)/],
    [['--tasks', f('badcheck')], /"check" must be "exact", "last-number" or "regex:PATTERN"/],
  ];
  for (const [args, message] of cases) {
    const t0 = performance.now();
    const r = cli('--quick', ...args, '--out', f('never'));
    assert.is(r.code, 1, `${args.join(' ')} should fail`);
    assert.match(r.err, message);
    assert.ok(performance.now() - t0 < 15000, `${args.join(' ')} failed only after ${performance.now() - t0} ms`);
  }
  assert.not.ok(existsSync(f('never')), 'nothing is written when the inputs are wrong');
});

test.run();
