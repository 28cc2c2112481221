// The runner of reproduce's independent runs (lib/reproduce/runner.ts): when it uses worker
// processes, that a run which throws or a worker which dies fails the stage naming the run and
// stops the other workers, and that Ctrl-C on `headgrad reproduce` stops every worker and writes
// no report. (That the workers give the same report as the loop in one process is the --jobs
// test in test/reproduce.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readCheckpoint } from '../lib/checkpoint/index.js';
import { tokenizerForModel } from '../lib/model_tokenizer.js';
import type { Context } from '../lib/reproduce/context.js';
import type { JobOf } from '../lib/reproduce/jobs.js';
import { makePlan } from '../lib/reproduce/plan.js';
import { SHIPPED_MODEL } from '../lib/reproduce/run.js';
import { StageRunner, WORKER_MODEL_PARAMS, type Jobs } from '../lib/reproduce/runner.js';
import { syntheticSuite } from '../lib/reproduce/suite.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = mkdtempSync(path.join(tmpdir(), 'headgrad-runner-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** The live worker processes (reproduce/worker) that `pid` started (Linux: from /proc); not tsx's esbuild service. */
function children(pid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const worker = readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(`reproduce${path.sep}worker.`);
      return Number(ppid) === pid && state !== 'Z' && worker ? [Number(d)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

const running = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

async function until(what: string, ok: () => boolean, ms = 10000, detail = () => ''): Promise<void> {
  const t0 = performance.now();
  while (!ok()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what} ${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function context(jobs: Jobs): Promise<{ ctx: Context; runner: StageRunner; log: string[] }> {
  const plan = makePlan('quick', 0);
  const { config, params } = await readCheckpoint(SHIPPED_MODEL);
  const runner = new StageRunner({ jobs, threads: 2, model: SHIPPED_MODEL });
  const log: string[] = [];
  const ctx: Context = {
    config, base: params, given: params, device: 'cpu', precision: 'f32', plan, runner,
    tokenizer: await tokenizerForModel(SHIPPED_MODEL, config), suite: syntheticSuite(plan), log: (m) => log.push(m),
  };
  return { ctx, runner, log };
}

const sft = (task: string, seed: number): JobOf<'sft'> => ({ kind: 'sft', task, samples: 16, seed, label: `SFT on ${task}, seed ${seed}` });

test('workers: auto uses the engine threads when a stage has that many runs, else this process', async () => {
  const { ctx } = await context('auto');
  const auto = (threads: number, n: number, device: Context['device'] = 'cpu') =>
    new StageRunner({ jobs: 'auto', threads, model: SHIPPED_MODEL }).workersFor({ ...ctx, device }, n);
  assert.is(auto(2, 1), 1, 'one run keeps both threads');
  assert.is(auto(2, 2), 2);
  assert.is(auto(2, 65), 2);
  assert.is(auto(4, 3), 1, 'fewer runs than threads: the engine threads');
  assert.is(auto(1, 65), 1);
  assert.is(auto(2, 65, 'cuda'), 1);
  const large = { ...ctx, base: new Float32Array(WORKER_MODEL_PARAMS + 1) };
  assert.is(new StageRunner({ jobs: 'auto', threads: 2, model: SHIPPED_MODEL }).workersFor(large, 65), 1, 'a large model keeps the engine threads');
  assert.is(new StageRunner({ jobs: 2, threads: 2, model: SHIPPED_MODEL }).workersFor(large, 65), 2, '--jobs still forces workers');
  const forced = (jobs: number, n: number) => new StageRunner({ jobs, threads: 2, model: SHIPPED_MODEL }).workersFor(ctx, n);
  assert.is(forced(1, 65), 1);
  assert.is(forced(3, 2), 2, 'never more workers than runs');
  assert.is(forced(3, 65), 3);
});

test('a run that throws in a worker fails the stage with its label, and the other workers stop', async () => {
  const { ctx, runner, log } = await context(2);
  const jobs = [sft('copy', 1), sft('no-such-task', 7), sft('reverse', 2), sft('sort', 3)];
  try {
    await runner.all(ctx, 'finding 1', jobs);
    assert.unreachable('the stage should fail');
  } catch (e) {
    assert.instance(e, Error);
    assert.match((e as Error).message, /^SFT on no-such-task, seed 7: reproduce: no task named "no-such-task"/);
  }
  assert.ok(log.some((m) => /finding 1: 4 runs, 2 worker processes/.test(m)), log.join('\n'));
  await until('the workers to stop', () => children(process.pid).length === 0);
  runner.close();
});

test('a worker that dies (SIGKILL, as the OOM killer sends) fails the stage naming its run', async () => {
  const { ctx, runner } = await context(2);
  const stage = runner.all(ctx, 'finding 1', [sft('copy', 11), sft('copy', 12), sft('copy', 13)]);
  const [victim] = children(process.pid);
  assert.ok(victim, 'the workers started');
  process.kill(victim!, 'SIGKILL');
  try {
    await stage;
    assert.unreachable('the stage should fail');
  } catch (e) {
    assert.match((e as Error).message, /^SFT on copy, seed 1[12]: its worker process died \(signal SIGKILL, perhaps the out-of-memory killer\)/);
    assert.is((e as { code?: string }).code, 'ERR_HEADGRAD_ENGINE');
  }
  await until('the other worker to stop', () => children(process.pid).length === 0);
  runner.close();
});

test('the workers give the results in the order of the jobs, as the loop in this process does', async () => {
  const jobs = [sft('count', 1), sft('copy', 2), sft('lookup', 3)];
  const one = await context(1);
  // this process at its own thread count, the workers at one: the CPU engine's results do not
  // depend on the thread count (docs/cpu.md), so the two are the same bits
  const seq = await one.runner.all(one.ctx, 'x', jobs);
  const two = await context(2);
  const par = await two.runner.all(two.ctx, 'x', jobs);
  two.runner.close();
  assert.equal(par.map((r) => [r.task, r.seed]), [['count', 1], ['copy', 2], ['lookup', 3]]);
  assert.equal(par, seq);
  assert.ok(two.log.some((m) => m.startsWith('SFT on lookup, seed 3 (')), 'one line per finished run');
  await until('the workers to exit once closed', () => children(process.pid).length === 0);
});

test('Ctrl-C on `headgrad reproduce` stops every worker and writes no report', async () => {
  const out = path.join(dir, 'interrupted');
  const cli = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), 'reproduce', '--quick', '--jobs', '2', '--out', out], {
    cwd: root, env: { ...process.env, HEADGRAD_THREADS: '1', HEADGRAD_DEBUG: '' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  cli.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => cli.on('exit', (code) => r(code)));
  await until('the first stage on workers', () => /: \d+ runs, 2 worker processes/.test(err), 60000);
  // the stage's line comes just before the workers are forked
  await until('two workers', () => children(cli.pid!).length === 2, 30000, () => `(workers ${children(cli.pid!)}; stderr:\n${err})`);
  const workers = children(cli.pid!);
  cli.kill('SIGINT'); // the CLI process only, not its process group: the workers must be stopped by it
  assert.is(await exited, 130, err);
  await until('the workers to go', () => !workers.some(running));
  assert.not.ok(existsSync(path.join(out, 'report.json')), 'no report after Ctrl-C');
});

test.run();
