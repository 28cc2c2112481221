// Who executes a stage's independent runs (jobs.ts). The model is small (220k parameters, batches
// of 8-16 short samples), so an engine thread pool mostly hands tiny pieces of work back and
// forth; several runs side by side, each on one thread, keep the cores busy instead. So when a
// stage has at least as many runs as the engine has threads, the runs go to that many worker
// processes (worker.ts), each with HEADGRAD_THREADS=1; otherwise they run one after the other in
// this process with all its threads; so do models too large for a copy per worker
// (WORKER_MODEL_PARAMS). --jobs N forces N workers (1: always in this process).
//
// Child processes rather than worker_threads: the addon keeps one process-wide thread pool,
// sized once from HEADGRAD_THREADS, so a worker thread could not have its own single-threaded
// engine. The workers call the same runJob as the loop here, and the CPU engine gives the same
// bits for any thread count, so a report does not depend on the path (test/reproduce-jobs.test.ts).
// Results are put back in the order of the jobs; progress is one line per finished run.
//
// Failure: a run that throws, or a worker that dies (a signal, the OOM killer), fails the stage
// with the run's label (task and seed) and stops the other workers. The workers also stop when
// this process goes: they exit when their IPC channel closes, and an 'exit' hook kills any left
// (Ctrl-C keeps the CLI's behaviour: exit 130, no report written).
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, HeadgradError, type HeadgradErrorCode } from '../errors.js';
import type { Context, Runner } from './context.js';
import { runJob, type JobKind, type JobOf, type JobResults } from './jobs.js';
import type { WorkerInit, FromWorker, ToWorker } from './worker.js';

/** --jobs: a number of worker processes, or 'auto' (the engine's threads, where a stage has that many runs). */
export type Jobs = number | 'auto';

/**
 * Models up to this many parameters go to workers under 'auto' (the shipped one has 220,800).
 * Above it every worker would hold another copy of the weights (and receive them through its
 * pipe), and a run's matrix products are large enough for the engine's own threads.
 */
export const WORKER_MODEL_PARAMS = 2 ** 24;

// worker.ts under tsx (the sources), worker.js in dist/
const here = fileURLToPath(import.meta.url);
const WORKER = path.join(path.dirname(here), `worker${path.extname(here)}`);

/** Where the workers find what the parent loaded: the model file (for its tokenizer) and the task folder. */
export interface RunnerOptions {
  jobs: Jobs;
  /** The engine's thread count in this process (backendInfo().cpu.threads). */
  threads: number;
  model: string;
}

/** A worker's error as one of this process: the same code where it is one of headgrad's, the run named in front. */
function named(label: string, e: { code?: unknown; message: string; stack?: string }): Error {
  const message = `${label}: ${e.message}`;
  const err = typeof e.code === 'string' && (ERROR_CODES as readonly string[]).includes(e.code)
    ? new HeadgradError(e.code as HeadgradErrorCode, message)
    : new Error(message);
  // HEADGRAD_DEBUG=1 prints the stack: where it failed in the worker, too
  if (e.stack) err.stack += `\nin the worker process: ${e.stack}`;
  return err;
}

interface Worker {
  proc: ChildProcess;
  /** The base weights this worker holds (ctx.base when they were sent). */
  base: Float32Array;
  /** Called with each message until the worker exits; set by the stage that uses it. */
  onMessage?: (m: FromWorker) => void;
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export class StageRunner implements Runner {
  private workers: Worker[] = [];
  /** The most worker processes any stage used (1: every run in this process). */
  peak = 1;
  private readonly killAll = () => {
    for (const w of this.workers) w.proc.kill('SIGKILL');
  };

  constructor(private readonly o: RunnerOptions) {}

  /** Worker processes for n runs: 1 means this process. */
  workersFor(ctx: Context, n: number): number {
    if (this.o.jobs !== 'auto') return Math.max(1, Math.min(this.o.jobs, n));
    if (ctx.device !== 'cpu' || this.o.threads < 2 || n < this.o.threads || ctx.base.length > WORKER_MODEL_PARAMS) return 1;
    return this.o.threads;
  }

  async all<K extends JobKind>(ctx: Context, stage: string, jobs: readonly JobOf<K>[]): Promise<JobResults[K][]> {
    const w = this.workersFor(ctx, jobs.length);
    ctx.log(`${stage}: ${jobs.length} run${jobs.length === 1 ? '' : 's'}, ${w > 1 ? `${w} worker processes of one thread each` : 'in this process'}`);
    if (w === 1) {
      const out: JobResults[K][] = [];
      for (const job of jobs) {
        try {
          out.push(await runJob(ctx, job));
        } catch (e) {
          // the error itself (its class and fields), the run named in front
          if (e instanceof Error) e.message = `${job.label}: ${e.message}`;
          throw e;
        }
        ctx.log(`${job.label} (${out.length}/${jobs.length})`);
      }
      return out;
    }
    this.peak = Math.max(this.peak, w);
    return this.onWorkers(ctx, jobs, w);
  }

  private onWorkers<K extends JobKind>(ctx: Context, jobs: readonly JobOf<K>[], n: number): Promise<JobResults[K][]> {
    while (this.workers.length < n) this.workers.push(this.spawn(ctx));
    const pool = this.workers.slice(0, n);
    const results: JobResults[K][] = new Array(jobs.length);
    let next = 0;
    let done = 0;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        for (const w of pool) w.onMessage = w.onExit = undefined;
        if (error) {
          this.stop();
          reject(error);
        } else {
          resolve(results);
        }
      };
      const give = (w: Worker, current: { id: number }) => {
        if (next >= jobs.length) return;
        const id = next++;
        current.id = id;
        if (w.base !== ctx.base) {
          w.proc.send({ type: 'base', base: ctx.base } satisfies ToWorker);
          w.base = ctx.base;
        }
        w.proc.send({ type: 'job', id, job: jobs[id]! } satisfies ToWorker);
      };
      for (const w of pool) {
        const current = { id: -1 };
        w.onMessage = (m) => {
          if (m.type === 'log') return ctx.log(m.message);
          const label = jobs[m.id]!.label;
          if (m.type === 'error') return finish(named(label, m));
          results[m.id] = m.result as JobResults[K];
          current.id = -1;
          ctx.log(`${label} (${++done}/${jobs.length})`);
          if (done === jobs.length) finish();
          else give(w, current);
        };
        w.onExit = (code, signal) => {
          const what = current.id >= 0 ? jobs[current.id]!.label : 'reproduce';
          const why = signal ? `signal ${signal}${signal === 'SIGKILL' ? ', perhaps the out-of-memory killer' : ''}` : `exit code ${code}`;
          finish(new HeadgradError('ERR_HEADGRAD_ENGINE', `${what}: its worker process died (${why})`));
        };
        give(w, current);
      }
    });
  }

  private spawn(ctx: Context): Worker {
    if (!process.listeners('exit').includes(this.killAll)) process.on('exit', this.killAll);
    const env = { ...process.env, HEADGRAD_THREADS: '1', OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
    // stdout of a worker goes to our stderr: stdout carries the verdicts
    const proc = fork(WORKER, [], { env, serialization: 'advanced', stdio: ['ignore', 2, 2, 'ipc'] });
    const init: WorkerInit = {
      model: this.o.model,
      ...(ctx.suite.source === 'files' ? { tasks: ctx.suite.dir } : {}),
      config: ctx.config, plan: ctx.plan, device: ctx.device, precision: ctx.precision,
      base: ctx.base, given: ctx.given,
    };
    proc.send({ type: 'init', init } satisfies ToWorker);
    const w: Worker = { proc, base: ctx.base };
    proc.on('message', (m: FromWorker) => w.onMessage?.(m));
    proc.on('exit', (code, signal) => {
      this.workers = this.workers.filter((x) => x !== w);
      w.onExit?.(code, signal);
    });
    // a send to a worker that has just died fails here, and its 'exit' reports it; a worker
    // that never started has no 'exit' to come
    proc.on('error', () => {
      if (proc.pid === undefined) w.onExit?.(null, null);
    });
    return w;
  }

  /** Stops every worker at once (after a failure). */
  private stop(): void {
    this.killAll();
    this.workers = [];
    process.off('exit', this.killAll);
  }

  /** Lets the workers go (they exit when their channel closes). */
  close(): void {
    for (const w of this.workers) {
      w.onExit = undefined;
      w.proc.disconnect();
    }
    this.workers = [];
    process.off('exit', this.killAll);
  }
}
