// `headgrad sft`: fine-tune a saved model on a task from the suite or a JSONL file, in full,
// head-targeted, or head-targeted + MLP mode, and save the result.
import type { Command } from 'commander';
import { Rng } from '../util/random.js';
import { readPattern, assertSameShape } from '../patterns/pattern.js';
import { writeTextAtomic } from '../util/atomic_file.js';
import { topK } from '../patterns/metrics.js';
import { sft, SftAbortedError, type SftHistory, type SftMode } from '../sft.js';
import { onNextInterrupt } from './interrupt.js';
import { TraceWriter } from '../telemetry/trace_file.js';
import {
  positiveInt, nonNegativeInt, positiveNumber, requireFile, requireModel, requireOutputDir, checkDataSource, loadData, printResult, loadModel,
} from './inputs.js';
import { HeadgradError } from '../errors.js';
import { deviceOption, precisionOption, type EngineOptions } from './engine_options.js';

interface SftCommandOptions {
  device: EngineOptions['device'];
  precision: EngineOptions['precision'];
  model: string;
  data?: string;
  task?: string;
  out: string;
  samples?: number;
  evalSamples: number;
  steps: number;
  batch: number;
  lr: number;
  mode: SftMode;
  topK?: number;
  headsFrom?: string;
  evalEvery?: number;
  snapshotEvery?: number;
  history?: string;
  apTrace?: string;
  traceEvery?: number;
  traceSamples?: boolean;
  checkpointEvery?: number;
  resume?: string;
  seed: number;
  json: boolean;
  progress?: boolean;
}

const MODES: SftMode[] = ['full', 'heads', 'heads+mlp'];

export function register(program: Command): void {
  program
    .command('sft')
    .description('supervised fine-tuning of a saved model on a task (--task) or a JSONL file (--data)')
    .requiredOption('--model <path>', 'the model to fine-tune: a checkpoint file or a Hugging Face model folder')
    .requiredOption('--out <file>', 'where to save the fine-tuned model')
    .option('--data <file>', 'JSONL of {"prompt","response"}, instruction/input/output or {"messages"} (chat) samples')
    .option('--task <name>', 'a task of the synthetic suite')
    .option('--samples <n>', 'training samples (default: 256 generated for --task, the whole file for --data)', positiveInt)
    .option('--eval-samples <n>', 'held-out samples for loss and exact-match accuracy', positiveInt, 64)
    .option('--steps <n>', 'optimizer steps', positiveInt, 200)
    .option('--batch <n>', 'samples per step', positiveInt, 8)
    .option('--lr <x>', 'peak learning rate (warmup, then cosine to lr/10)', positiveNumber, 3e-4)
    .option('--mode <mode>', `what is trained: ${MODES.join(' | ')}`, 'full')
    .option('--top-k <k>', 'heads trained in the head modes: the k largest of --heads-from', positiveInt)
    .option('--heads-from <file>', 'activation-pattern file that picks the heads (head modes)')
    .option('--eval-every <n>', 'evaluate every n steps (default: 4 times per run)', positiveInt)
    .option('--snapshot-every <n>', 'record the activation pattern on held-out samples every n steps', positiveInt)
    .option('--history <file>', 'write the full history (losses, evals, pattern snapshots) as JSON')
    .option('--ap-trace <file>', 'AP telemetry: one JSON line per recorded step with the training batch\'s activation pattern, its Gini and CV, and the loss, from the training backward (no extra pass); render it with headgrad report --trace')
    .option('--trace-every <n>', 'record every n-th step (and the last) in --ap-trace', positiveInt, 1)
    .option('--trace-samples', 'also write each sample\'s scores and its index in the training data to --ap-trace')
    .option('--checkpoint-every <n>', 'every n steps, write --out (a .safetensors file) atomically with the optimizer state, step and data order, so --resume can continue the run', positiveInt)
    .option('--resume <file>', 'continue the run that wrote this checkpoint (same options and data) from its step')
    .option('--seed <n>', 'seeds the data and the batch order', nonNegativeInt, 0)
    .addOption(deviceOption())
    .addOption(precisionOption())
    .option('--json', 'print the result as JSON', false)
    .option('--progress', 'show a progress bar on stderr even when it is not a terminal')
    .action(async (o: SftCommandOptions) => {
      await checkOptions(o);
      // the training state of the mode counts in the memory check (activations: the rows are known only after tokenizing)
      using loaded = await loadModel(o.model, o, { mode: o.mode, trainedHeads: o.topK });
      const { model, tokenizer } = loaded;
      const trainableHeads = o.mode === 'full' ? undefined : await headMask(o.headsFrom!, o.topK!, model.config);
      const { samples, check, name } = await loadData(o, o.task !== undefined ? (o.samples ?? 256) + o.evalSamples : undefined, o.seed);
      const { train, held } = holdOut(samples, o.evalSamples, o.seed, o.samples);

      using trace = o.apTrace ? new TraceWriter(o.apTrace) : undefined;
      // Ctrl-C into a single file: finish the step, write a training checkpoint, say how to resume.
      const stop = new AbortController();
      const release = o.out.endsWith('.safetensors') ? onNextInterrupt(() => {
        process.stderr.write(`\nsft: interrupted; finishing the step and writing a training checkpoint to ${o.out} (Ctrl-C again stops at once)\n`);
        stop.abort();
      }) : () => {};
      const history = await sft(model, train, {
        signal: stop.signal,
        tokenizer, steps: o.steps, batchSize: o.batch, lr: o.lr, warmupSteps: Math.floor(o.steps / 10), seed: o.seed,
        mode: o.mode, trainableHeads,
        eval: { data: held, every: o.evalEvery ?? Math.max(1, Math.floor(o.steps / 4)), check },
        snapshots: o.snapshotEvery ? { probe: held, every: o.snapshotEvery } : undefined,
        checkpoint: { path: o.out, every: o.checkpointEvery }, resume: o.resume, progress: o.progress,
        ...(trace ? { telemetry: { every: o.traceEvery, perSample: o.traceSamples ?? false }, onTelemetry: (r) => trace.write(r) } : {}),
        onCheckpoint: (c) => process.stderr.write(`sft: checkpoint at step ${c.step} written to ${c.path}\n`),
      }).catch((e: unknown) => {
        if (e instanceof SftAbortedError && e.checkpoint !== undefined) {
          throw new SftAbortedError(`${e.message}\nresume with: ${resumeCommand(e.checkpoint)}`, e.step, e.checkpoint);
        }
        throw e;
      }).finally(release);
      const json = historyJson(history);
      if (o.history) {
        await writeTextAtomic(o.history, JSON.stringify({ data: name, mode: o.mode, ...json }) + '\n');
      }
      const first = history.evals[0]!;
      const last = history.evals.at(-1)!;
      printResult(o.json, { data: name, mode: o.mode, out: o.out, train: train.length, heldOut: held.length, ...json }, () => [
        `sft on ${name} (${train.length} samples, ${held.length} held out), mode ${o.mode}, ${o.steps} steps in ${history.wallSeconds.toFixed(1)} s`,
        ...history.evals.map((e) => `  step ${String(e.step).padStart(5)}: held-out loss ${e.loss.toFixed(4)}, accuracy ${fmtAcc(e.accuracy)}`),
        `loss ${first.loss.toFixed(4)} -> ${last.loss.toFixed(4)}, accuracy ${fmtAcc(first.accuracy)} -> ${fmtAcc(last.accuracy)}`,
        `saved ${o.out}`,
      ]);
    });
}

/** This command line with --resume FILE (any earlier --resume dropped), quoted for a POSIX shell. */
function resumeCommand(file: string): string {
  const args = process.argv.slice(2);
  const at = args.indexOf('sft');
  const rest = args.slice(at + 1);
  const kept: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--resume') i++;
    else if (!rest[i]!.startsWith('--resume=')) kept.push(rest[i]!);
  }
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['headgrad', 'sft', ...kept, '--resume', file].map(quote).join(' ');
}

/** Every check that does not need the model, so typos fail before anything is loaded. */
async function checkOptions(o: SftCommandOptions): Promise<void> {
  await requireModel(o.model);
  await requireOutputDir(o.out, '--out');
  if (o.history) await requireOutputDir(o.history, '--history');
  if (o.apTrace) await requireOutputDir(o.apTrace, '--ap-trace');
  else if (o.traceSamples || o.traceEvery !== 1) throw new HeadgradError('ERR_HEADGRAD_USAGE', '--trace-every and --trace-samples need --ap-trace FILE');
  if (o.checkpointEvery !== undefined && !o.out.endsWith('.safetensors')) {
    throw new HeadgradError('ERR_HEADGRAD_USAGE', `--checkpoint-every: --out must be a .safetensors file (a training checkpoint is one file), got "${o.out}"`);
  }
  if (o.resume !== undefined) await requireFile(o.resume, '--resume');
  await checkDataSource(o);
  if (!MODES.includes(o.mode)) throw new HeadgradError('ERR_HEADGRAD_USAGE', `--mode: expected one of ${MODES.join(', ')}, got "${o.mode}"`);
  if (o.mode === 'full') {
    if (o.topK !== undefined || o.headsFrom !== undefined) throw new HeadgradError('ERR_HEADGRAD_USAGE', '--top-k and --heads-from only apply to --mode heads or heads+mlp');
  } else {
    if (o.topK === undefined || o.headsFrom === undefined) throw new HeadgradError('ERR_HEADGRAD_USAGE', `--mode ${o.mode} needs --top-k K and --heads-from PATTERN.json`);
    await requireFile(o.headsFrom, '--heads-from');
  }
}

/** [layers*heads] mask with 1 on the k heads of largest activation in the pattern file. */
async function headMask(file: string, k: number, cfg: { layers: number; heads: number }): Promise<Uint8Array> {
  const pattern = await readPattern(file);
  assertSameShape({ ...cfg, values: new Float64Array(0) }, pattern, 'the model', `--heads-from ${file}`);
  const n = cfg.layers * cfg.heads;
  if (k > n) throw new HeadgradError('ERR_HEADGRAD_USAGE', `--top-k ${k} exceeds the model's ${n} heads`);
  const mask = new Uint8Array(n);
  for (const j of topK(pattern.values, k)) mask[j] = 1;
  return mask;
}

/**
 * Splits off `held` evaluation samples after a seeded shuffle; the rest (capped at `cap`) trains.
 * Throws when nothing would be left to train on.
 */
function holdOut<T>(samples: T[], held: number, seed: number, cap: number | undefined) {
  const shuffled = new Rng(seed).shuffle([...samples]);
  if (shuffled.length <= held) {
    throw new HeadgradError('ERR_HEADGRAD_USAGE', `--eval-samples ${held} leaves no training samples out of ${shuffled.length}; lower --eval-samples`);
  }
  const train = shuffled.slice(held);
  return { held: shuffled.slice(0, held), train: cap === undefined ? train : train.slice(0, cap) };
}

/** The history with typed arrays as plain arrays, so JSON.stringify writes them as lists; the telemetry goes to --ap-trace only. */
function historyJson({ telemetry: _inTrace, ...h }: SftHistory) {
  return {
    ...h,
    snapshots: h.snapshots.map((s) => ({
      step: s.step, weightChange: s.weightChange,
      pattern: { layers: s.pattern.layers, heads: s.pattern.heads, samples: s.pattern.samples, values: [...s.pattern.values], signed: [...s.pattern.signed] },
    })),
  };
}

function fmtAcc(a: number | undefined): string {
  return a === undefined ? 'n/a' : `${(100 * a).toFixed(1)}%`;
}
