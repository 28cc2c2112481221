// End to end through the CLI on a tiny model and tiny data: pretrain -> patterns before ->
// sft on two tasks -> patterns after -> decompose -> report, plus ablate and the error paths.
// Each step is a child process, so exit codes, stdout and stderr are what a user sees.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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
  assert.ok(Number.isFinite(dec.coefficients.sort));
  assert.ok(existsSync(f('report/report.json')));
  const text = ok('report', f('report/report.json'), '--out', f('rendered.html')).out;
  assert.is(text.trim(), f('rendered.html'));
  assert.match(readFileSync(f('rendered.html'), 'utf8'), /<svg/);
});

test('head-targeted sft from a pattern file, and ablation of its top heads', () => {
  const base = f('base.safetensors');
  const run = json('sft', '--model', base, '--task', 'reverse', '--samples', '16', '--eval-samples', '4', '--steps', '3',
    '--batch', '4', '--mode', 'heads', '--top-k', '1', '--heads-from', f('reverse-before.json'), '--out', f('reverse-heads.safetensors'));
  assert.is(run.mode, 'heads');
  const r = json('ablate', '--model', f('reverse.safetensors'), '--task', 'reverse', '--pattern', f('reverse-after.json'),
    '--k', '2', '--draws', '3', '--samples', '8');
  assert.is(r.k, 2);
  assert.is(r.topK.heads.length, 2);
  assert.is(r.random.runs.length, 3);
  for (const a of [r.baseline, r.topK.accuracy, r.random.mean]) assert.ok(a >= 0 && a <= 1);
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
  for (const e of run.evals) assert.ok(e.accuracy >= 0 && e.accuracy <= 1);
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
