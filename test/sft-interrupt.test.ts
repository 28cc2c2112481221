// Ctrl-C during `headgrad sft` (a child process sent SIGINT): with a single-file --out the run
// finishes its step, writes a training checkpoint, prints the command that resumes it and exits
// 130; that command completes the run with the same loss trajectory and a byte-identical final
// file as a run never interrupted. Other commands stop at once with 130 and leave no temp file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GPT } from '../lib/index.js';
import { suiteTempDir } from './helpers/temp_dir.js';

const root = path.resolve(import.meta.dirname, '..');
const dir = suiteTempDir(test, 'interrupt');
const f = (name: string) => path.join(dir, name);
const cliArgs = ['--import', 'tsx', path.join(root, 'lib', 'cli.ts')];
const env = { ...process.env, HEADGRAD_DEBUG: '' };

function run(args: string[]) {
  const r = spawnSync(process.execPath, [...cliArgs, ...args], { cwd: root, encoding: 'utf8', env, timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Starts `args`, sends SIGINT once stderr matches `when` (or after `when` ms), and resolves with the exit code and output. */
function interrupted(args: string[], when: RegExp | number): Promise<{ code: number | null; signal: string | null; err: string; signalled: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliArgs, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let signalled = false;
    child.stderr.on('data', (d) => {
      err += d;
      if (!signalled && when instanceof RegExp && when.test(err)) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    child.stdout.resume();
    if (typeof when === 'number') setTimeout(() => { signalled = child.exitCode === null && child.kill('SIGINT'); }, when);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, err, signalled }));
  });
}

const common = ['--task', 'reverse', '--steps', '400', '--batch', '4', '--eval-samples', '8', '--eval-every', '100',
  '--checkpoint-every', '10', '--seed', '3', '--device', 'cpu'];

test('setup: a small model file', async () => {
  const m = await GPT.create({ vocabSize: 260, maxSeqLen: 32, layers: 2, heads: 4, dim: 64, seed: 5, device: 'cpu' });
  await m.save(f('base.safetensors'));
  m.dispose();
});

test('Ctrl-C during sft: checkpoint, the resume command, exit 130; resumed = uninterrupted, bit for bit', async () => {
  const full = run(['sft', '--model', f('base.safetensors'), ...common, '--out', f('full.safetensors'), '--history', f('full.json')]);
  assert.is(full.code, 0, full.err);

  const r = await interrupted(['sft', '--model', f('base.safetensors'), ...common, '--out', f('cut.safetensors'), '--history', f('cut.json')],
    /checkpoint at step 10 written/);
  assert.ok(r.signalled, 'the run never reached its first checkpoint');
  assert.is(r.code, 130, `exit ${r.code} (signal ${r.signal}); stderr:\n${r.err}`);
  const stopped = /stopped after step (\d+); a training checkpoint of it is in \S*cut\.safetensors/.exec(r.err);
  assert.ok(stopped, r.err);
  const step = Number(stopped![1]);
  assert.ok(step >= 10 && step < 400, `stopped at step ${step}`);
  const resume = /resume with: (headgrad sft .*)$/m.exec(r.err);
  assert.ok(resume, r.err);
  assert.ok(resume![1]!.endsWith(` --resume ${f('cut.safetensors')}`), resume![1]);

  // Run exactly the printed command (as the shell would split it: no quoting needed here).
  const args = resume![1]!.split(' ').slice(1);
  const resumed = run(args);
  assert.is(resumed.code, 0, resumed.err);
  assert.ok(readFileSync(f('cut.safetensors')).equals(readFileSync(f('full.safetensors'))), 'final files differ');
  const losses = (file: string) => (JSON.parse(readFileSync(f(file), 'utf8')) as { steps: { loss: number }[] }).steps.map((s) => s.loss);
  assert.equal(losses('cut.json'), losses('full.json'));
  assert.is(losses('full.json').length, 400);
});

test('Ctrl-C during patterns: exit 130 and no temp file or partial output left', async () => {
  // --samples large enough that the run is still going when the signal arrives
  const r = await interrupted(['patterns', '--model', f('base.safetensors'), '--task', 'reverse', '--samples', '100000', '--batch', '64',
    '--device', 'cpu', '--out', f('ap.json')], 8000);
  assert.ok(r.signalled);
  assert.is(r.code, 130, `exit ${r.code} (signal ${r.signal}); stderr:\n${r.err}`);
  const left = readdirSync(dir).filter((n) => n.startsWith('.ap.json') || n === 'ap.json');
  assert.equal(left, []);
});

test.run();
