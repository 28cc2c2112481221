// A worker process of `reproduce` (runner.ts forks it with HEADGRAD_THREADS=1): it rebuilds the
// parent's context from plain data (the suite and the tokenizer from the same files and plan,
// the base weights as sent), then executes one job at a time with runJob and sends back its
// plain-data result. Messages are handled strictly in order, so new base weights always arrive
// before the job that needs them. It exits when the parent closes the channel or goes away.
import type { Precision } from '../backend.js';
import type { GPTConfig } from '../checkpoint/index.js';
import { tokenizerForModel } from '../model_tokenizer.js';
import type { Context } from './context.js';
import { runJob, type Job } from './jobs.js';
import type { Plan } from './plan.js';
import { loadSuite } from './suite.js';

export interface WorkerInit {
  /** The model file or folder (its tokenizer). */
  model: string;
  /** The --tasks folder (absent: the synthetic suite). */
  tasks?: string;
  config: GPTConfig;
  plan: Plan;
  device: 'cpu' | 'cuda';
  precision: Precision;
  base: Float32Array;
  given: Float32Array;
}

export type ToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'base'; base: Float32Array }
  | { type: 'job'; id: number; job: Job };

export type FromWorker =
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; code?: string; message: string; stack?: string }
  | { type: 'log'; message: string };

const send = (m: FromWorker) => process.send!(m);

async function context(i: WorkerInit): Promise<Context> {
  return {
    config: i.config, base: i.base, given: i.given, device: i.device, precision: i.precision, plan: i.plan,
    tokenizer: await tokenizerForModel(i.model, i.config),
    suite: await loadSuite(i.tasks, i.plan),
    runner: { all: () => Promise.reject(new Error('reproduce: a worker runs one job at a time')) },
    log: (message) => send({ type: 'log', message }),
  };
}

let ctx: Promise<Context> | undefined;
let queue = Promise.resolve();

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'init') {
    ctx = context(m.init);
    // a failed setup is reported by the first job that needs it
    ctx.catch(() => {});
  } else if (m.type === 'base') {
    ctx = ctx!.then((c) => ({ ...c, base: m.base }));
    ctx.catch(() => {});
  } else {
    try {
      send({ type: 'result', id: m.id, result: await runJob(await ctx!, m.job) });
    } catch (e) {
      const err = e as { code?: unknown; message?: unknown; stack?: unknown };
      send({
        type: 'error', id: m.id, message: String(err?.message ?? e),
        ...(typeof err?.code === 'string' ? { code: err.code } : {}), ...(typeof err?.stack === 'string' ? { stack: err.stack } : {}),
      });
    }
  }
}

process.on('message', (m: ToWorker) => {
  queue = queue.then(() => handle(m));
});
process.on('disconnect', () => process.exit(0));
