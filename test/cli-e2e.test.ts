// End to end through the CLI on a tiny model and tiny data: pretrain -> patterns before ->
// sft on two tasks -> patterns after -> decompose -> report, plus ablate and the error paths.
// Each step is a child process, so exit codes, stdout and stderr are what a user sees; the
// numbers they print are checked against computations made here from the files they wrote.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parameterLayout, readCheckpoint, type GPTConfig } from '../lib/index.js';
import { suiteTempDir } from './helpers/temp_dir.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = suiteTempDir(test, 'e2e');
const f = (name: string) => path.join(dir, name);

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, HEADGRAD_DEBUG: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function ok(...args: string[]) {
  const r = cli(...args);
  assert.is(r.code, 0, `headgrad ${args.join(' ')} failed:\n${r.err}`);
  return r;
}

const json = (...args: string[]) => JSON.parse(ok(...args, '--json').out);

test('pretrain -> sft on two tasks -> patterns before/after -> decompose -> report', () => {
  const pre = json('pretrain', '--layers', '2', '--heads', '2', '--dim', '16', '--seq-len', '50', '--steps', '30',
    '--batch', '8', '--documents', '200', '--lr', '3e-3', '--out', f('base.safetensors'));
  assert.ok(existsSync(f('base.safetensors')));
  assert.equal(pre.config, { vocabSize: 260, maxSeqLen: 50, layers: 2, heads: 2, dim: 16 });
  assert.ok(Number.isFinite(pre.finalLoss) && pre.finalLoss < Math.log(260), `pretraining loss ${pre.finalLoss}`);

  for (const task of ['reverse', 'sort']) {
    const before = json('patterns', '--model', f('base.safetensors'), '--task', task, '--samples', '12', '--out', f(`${task}-before.json`));
    assert.is(before.values.length, 4);
    assert.ok(before.values.every((v: number) => v > 0));
    assert.is(before.provenance.samples, 12);
    assert.is(before.provenance.task, task);

    const run = json('sft', '--model', f('base.safetensors'), '--task', task, '--samples', '24', '--eval-samples', '6',
      '--steps', '8', '--batch', '4', '--lr', '3e-3', '--eval-every', '4', '--snapshot-every', '4', '--out', f(`${task}.safetensors`),
      '--history', f(`${task}-history.json`));
    assert.equal(run.evals.map((e: { step: number }) => e.step), [0, 4, 8]);
    assert.is(run.steps.length, 8);
    assert.equal(run.snapshots.map((s: { step: number }) => s.step), [0, 4, 8]);
    assert.ok(run.evals[2].loss < run.evals[0].loss, `held-out loss ${run.evals[0].loss} -> ${run.evals[2].loss}`);
    assert.ok(existsSync(f(`${task}.safetensors`)));
    assert.equal(JSON.parse(readFileSync(f(`${task}-history.json`), 'utf8')).steps, run.steps);

    const after = json('patterns', '--model', f(`${task}.safetensors`), '--task', task, '--samples', '12', '--out', f(`${task}-after.json`));
    assert.is(after.provenance.dataHash, before.provenance.dataHash, 'same probe data before and after');
    assert.is.not(after.provenance.modelHash, before.provenance.modelHash);
  }

  const dec = json('decompose', '--target', f('reverse-after.json'), '--target-before', f('reverse-before.json'),
    '--base', `sort=${f('sort-after.json')}`, '--base-before', `sort=${f('sort-before.json')}`, '--permutations', '20',
    '--report', f('report'));
  // ΔAP = after − before from the pattern files, fitted here by least squares without an
  // intercept (the CLI's default): α = Σxy / Σx², R² = 1 − SSR/SST about the mean.
  const delta = (task: string) => values(`${task}-after.json`).map((v, i) => v - values(`${task}-before.json`)[i]!);
  const [x, y] = [delta('sort'), delta('reverse')];
  const alpha = x.reduce((s, v, i) => s + v * y[i]!, 0) / x.reduce((s, v) => s + v * v, 0);
  const mean = y.reduce((s, v) => s + v, 0) / y.length;
  const r2 = 1 - y.reduce((s, v, i) => s + (v - alpha * x[i]!) ** 2, 0) / y.reduce((s, v) => s + (v - mean) ** 2, 0);
  assert.ok(Math.abs(dec.coefficients.sort - alpha) <= 1e-9 * Math.abs(alpha), `coefficient ${dec.coefficients.sort} vs ${alpha}`);
  assert.ok(Math.abs(dec.r2 - r2) <= 1e-9, `R² ${dec.r2} vs ${r2}`);
  assert.ok(existsSync(f('report/report.json')));
  const text = ok('report', f('report/report.json'), '--out', f('rendered.html')).out;
  assert.is(text.trim(), f('rendered.html'));
  const rendered = readFileSync(f('rendered.html'), 'utf8');
  assert.match(rendered, /<svg/);
  // without --out the page goes beside the JSON
  const beside = ok('report', f('report/report.json')).out;
  assert.is(beside.trim(), f('report/report.html'));
  assert.is(readFileSync(f('report/report.html'), 'utf8'), rendered);
});

const values = (file: string): number[] => JSON.parse(readFileSync(f(file), 'utf8')).values;
const isMultipleOf = (x: number, n: number) => Math.abs(x * n - Math.round(x * n)) < 1e-9;

// Offsets of the parameters a head-targeted run may change: the Q/K/V rows (weights, biases)
// and attprojw columns of the given heads, plus (withMlp) fcw, fcb, fcprojw, fcprojb.
function mayChange(cfg: GPTConfig, headIds: number[], withMlp: boolean): Set<number> {
  const C = cfg.dim, hs = C / cfg.heads;
  const t = Object.fromEntries(parameterLayout(cfg).map((x) => [x.name, x]));
  const out = new Set<number>();
  for (const id of headIds) {
    const l = Math.floor(id / cfg.heads), h = id % cfg.heads;
    for (let part = 0; part < 3; part++) {
      for (let r = h * hs; r < (h + 1) * hs; r++) {
        const row = l * 3 * C + part * C + r;
        for (let c = 0; c < C; c++) out.add(t.qkvw!.offset + row * C + c);
        out.add(t.qkvb!.offset + row);
      }
    }
    for (let o = 0; o < C; o++) for (let c = h * hs; c < (h + 1) * hs; c++) out.add(t.attprojw!.offset + (l * C + o) * C + c);
  }
  if (withMlp) for (const name of ['fcw', 'fcb', 'fcprojw', 'fcprojb']) for (let i = 0; i < t[name]!.size; i++) out.add(t[name]!.offset + i);
  return out;
}

test('head-targeted sft (heads, heads+mlp) changes only the chosen heads (and MLPs); ablation of the top heads', async () => {
  const base = f('base.safetensors');
  // the top-2 heads of the pattern, read from the file here
  const ap = values('reverse-before.json');
  const ranked = ap.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
  const before = (await readCheckpoint(base)).params;
  for (const [mode, k] of [['heads', 1], ['heads+mlp', 2]] as const) {
    const out = f(`reverse-${mode}.safetensors`);
    const run = json('sft', '--model', base, '--task', 'reverse', '--samples', '16', '--eval-samples', '4', '--steps', '3',
      '--batch', '4', '--mode', mode, '--top-k', String(k), '--heads-from', f('reverse-before.json'), '--out', out);
    assert.is(run.mode, mode);
    const { config, params: after } = await readCheckpoint(out);
    const allowed = mayChange(config, ranked.slice(0, k), mode === 'heads+mlp');
    let moved = 0;
    for (let i = 0; i < after.length; i++) {
      if (allowed.has(i)) moved += after[i] !== before[i] ? 1 : 0;
      else if (after[i] !== before[i]) assert.unreachable(`${mode}: parameter ${i} outside the trained heads${mode === 'heads+mlp' ? ' and MLPs' : ''} changed`);
    }
    assert.ok(moved > 0.5 * allowed.size, `${mode}: only ${moved} of ${allowed.size} trainable parameters moved`);
  }

  const r = json('ablate', '--model', f('reverse.safetensors'), '--task', 'reverse', '--pattern', f('reverse-after.json'),
    '--k', '2', '--draws', '3', '--samples', '8');
  assert.is(r.k, 2);
  const after = values('reverse-after.json');
  assert.equal([...r.topK.heads].sort(), after.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 2).map(([, i]) => i).sort());
  assert.is(r.random.runs.length, 3);
  for (const run of r.random.runs) {
    assert.is(new Set(run.heads).size, 2, 'a draw has k distinct heads');
    assert.ok(run.heads.every((h: number) => Number.isInteger(h) && h >= 0 && h < 4));
  }
  // accuracies are counts out of 8 samples; the mean is the mean of the draws
  for (const a of [r.baseline, r.topK.accuracy, ...r.random.runs.map((x: { accuracy: number }) => x.accuracy)]) assert.ok(isMultipleOf(a, 8) && a >= 0 && a <= 1, `accuracy ${a}`);
  assert.ok(Math.abs(r.random.mean - r.random.runs.reduce((s: number, x: { accuracy: number }) => s + x.accuracy, 0) / 3) < 1e-12);
  const human = ok('ablate', '--model', f('reverse.safetensors'), '--task', 'reverse', '--pattern', f('reverse-after.json'), '--k', '1', '--draws', '2', '--samples', '4');
  assert.match(human.out, /no ablation/);
  assert.match(human.out, /top-1 AP heads/);
});

test('a text corpus and a JSONL data file work like the suite', () => {
  writeFileSync(f('corpus.txt'), 'the cat sees the dog.\n\nabc backwards is cba.\n' + 'a long line that is cut into pieces. '.repeat(4) + '\n');
  const pre = json('pretrain', '--corpus', f('corpus.txt'), '--layers', '1', '--heads', '2', '--dim', '8', '--seq-len', '24',
    '--steps', '3', '--batch', '2', '--out', f('corpus.safetensors'));
  assert.ok(pre.documents > 3, `the long line is split to fit the context: ${pre.documents} documents`);

  const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `n${i}`, response: String(i * 2) }));
  writeFileSync(f('double.jsonl'), lines.join('\n') + '\n');
  const ap = json('patterns', '--model', f('corpus.safetensors'), '--data', f('double.jsonl'), '--samples', '5');
  assert.is(ap.provenance.samples, 5);
  assert.is(ap.provenance.task, 'double.jsonl');
  const run = json('sft', '--model', f('corpus.safetensors'), '--data', f('double.jsonl'), '--eval-samples', '3', '--steps', '2',
    '--batch', '3', '--out', f('double.safetensors'));
  assert.is(run.train, 9);
  assert.is(run.heldOut, 3);
  assert.equal(run.evals.map((e: { step: number }) => e.step), [0, 1, 2]); // every max(1, floor(2/4)) steps
  for (const e of run.evals) assert.ok(isMultipleOf(e.accuracy, 3) && e.accuracy >= 0 && e.accuracy <= 1 && e.loss > 0, JSON.stringify(e));

  // a .jsonl corpus: one "prompt\nresponse" document per line, each short enough to stay whole
  const corpus = json('pretrain', '--corpus', f('double.jsonl'), '--layers', '1', '--heads', '2', '--dim', '8', '--seq-len', '24',
    '--steps', '2', '--batch', '2', '--out', f('jsonl.safetensors'));
  assert.is(corpus.documents, 12);
  assert.ok(existsSync(f('jsonl.safetensors')));
});

test('bad paths and options fail fast with a message and exit code 1', () => {
  const base = f('base.safetensors');
  const cases: [string[], RegExp][] = [
    [['patterns', '--model', f('missing.safetensors'), '--task', 'reverse'], /--model: no such file or folder: .*missing\.safetensors/],
    [['patterns', '--model', base, '--task', 'nope'], /--task: unknown task "nope"/],
    [['patterns', '--model', base], /exactly one of --data FILE.jsonl or --task NAME/],
    [['patterns', '--model', base, '--task', 'reverse', '--out', f('no/such/dir/p.json')], /--out: the folder .* does not exist/],
    [['sft', '--model', base, '--task', 'reverse', '--out', f('x.safetensors'), '--steps', '0'], /--steps.*expected a positive integer, got "0"/],
    [['sft', '--model', base, '--task', 'reverse', '--out', f('x.safetensors'), '--mode', 'heads'], /--mode heads needs --top-k K and --heads-from/],
    [['sft', '--model', base, '--task', 'reverse', '--out', f('x.safetensors'), '--mode', 'everything'], /--mode: expected one of full, heads, heads\+mlp/],
    [['sft', '--model', base, '--data', f('none.jsonl'), '--out', f('x.safetensors')], /--data: no such file/],
    [['ablate', '--model', base, '--task', 'reverse', '--pattern', f('none.json')], /--pattern: no such file/],
    [['pretrain', '--out', f('p.safetensors'), '--dim', '10', '--heads', '4'], /--dim \(10\) must be divisible by --heads \(4\)/],
    [['pretrain', '--out', f('p.safetensors'), '--lr', 'fast'], /--lr.*expected a number > 0, got "fast"/],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    assert.is(r.code, 1, `headgrad ${args.join(' ')} exited ${r.code}`);
    assert.match(r.err, re);
    assert.is(r.out, '', 'nothing on stdout when a command fails');
  }
  writeFileSync(f('bad.jsonl'), '{"prompt": "a", "response": "b"}\n{"prompt": 3}\n');
  const bad = cli('sft', '--model', base, '--data', f('bad.jsonl'), '--out', f('x.safetensors'));
  assert.is(bad.code, 1);
  assert.match(bad.err, /bad\.jsonl:2/);
  assert.not.ok(existsSync(f('x.safetensors')));
});

test.run();
