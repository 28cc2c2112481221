// `headgrad pretrain`: a fresh GPT trained on the task suite's pretraining corpus (the basic
// skills in their pretraining surface format, plus filler text) or on a text / JSONL file.
// Pretraining reuses the SFT loop with an empty prompt: every document is a "response", so the
// loss is the mean per-document next-token cross-entropy.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ByteTokenizer, type Tokenizer } from '../tokenizer.js';
import { readPromptSamples } from '../data/jsonl.js';
import { pretrainCorpus } from '../data/tasks.js';
import type { Sample } from '../data/sample.js';
import { sft } from '../sft.js';
import { positiveInt, positiveNumber, nonNegativeInt, requireFile, requireOutputDir, printResult, loadGPT } from './inputs.js';
import { HeadgradError } from '../errors.js';
import { deviceOption, precisionOption, type EngineOptions } from './engine_options.js';

interface PretrainOptions {
  device: EngineOptions['device'];
  precision: EngineOptions['precision'];
  out: string;
  corpus?: string;
  documents: number;
  layers: number;
  heads: number;
  dim: number;
  seqLen: number;
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  json: boolean;
  progress?: boolean;
}

export function register(program: Command): void {
  program
    .command('pretrain')
    .description("train a fresh byte-level GPT on the task suite's pretraining corpus (or --corpus) and save it")
    .requiredOption('--out <file>', 'where to save the model (.safetensors)')
    .option('--corpus <file>', 'a text file (one document per line) or a .jsonl of prompt/response pairs')
    .option('--documents <n>', 'documents drawn from the task suite when no --corpus is given', positiveInt, 4000)
    .option('--layers <n>', 'transformer blocks', positiveInt, 2)
    .option('--heads <n>', 'attention heads per block', positiveInt, 4)
    .option('--dim <n>', 'model width (divisible by --heads)', positiveInt, 64)
    .option('--seq-len <n>', 'context length (maxSeqLen)', positiveInt, 64)
    .option('--steps <n>', 'optimizer steps', positiveInt, 1000)
    .option('--batch <n>', 'documents per step', positiveInt, 16)
    .option('--lr <x>', 'peak learning rate (warmup, then cosine to lr/10)', positiveNumber, 1e-3)
    .option('--seed <n>', 'seeds the weights, the corpus and the batch order', nonNegativeInt, 0)
    .addOption(deviceOption())
    .addOption(precisionOption())
    .option('--json', 'print the result as JSON', false)
    .option('--progress', 'show a progress bar on stderr even when it is not a terminal')
    .action(async (o: PretrainOptions) => {
      if (o.seqLen < 2) throw new HeadgradError('ERR_HEADGRAD_USAGE', `--seq-len must be at least 2 (a separator and one token), got ${o.seqLen}`);
      if (o.dim % o.heads !== 0) throw new HeadgradError('ERR_HEADGRAD_USAGE', `--dim (${o.dim}) must be divisible by --heads (${o.heads})`);
      if (o.corpus !== undefined) await requireFile(o.corpus, '--corpus');
      await requireOutputDir(o.out, '--out');
      const tokenizer = new ByteTokenizer();
      const docs = o.corpus ? await readCorpus(o.corpus, tokenizer, o.seqLen) : pretrainCorpus(o.documents, o.seed).map(asDocument);
      if (docs.length === 0) throw new HeadgradError('ERR_HEADGRAD_USAGE', `--corpus: ${o.corpus} holds no documents`);

      const config = { vocabSize: tokenizer.vocabSize, maxSeqLen: o.seqLen, layers: o.layers, heads: o.heads, dim: o.dim };
      using model = await (await loadGPT()).create({ ...config, seed: o.seed, device: o.device, precision: o.precision });
      const history = await sft(model, docs, {
        tokenizer, steps: o.steps, batchSize: o.batch, lr: o.lr, warmupSteps: Math.min(100, Math.floor(o.steps / 10)),
        weightDecay: 0.1, seed: o.seed, checkpoint: { path: o.out }, progress: o.progress,
      });
      const last = history.steps.slice(-10);
      const finalLoss = last.reduce((a, s) => a + s.loss, 0) / last.length;
      const result = { out: o.out, config, documents: docs.length, steps: o.steps, finalLoss, wallSeconds: history.wallSeconds, tokensPerSecond: history.tokensPerSecond };
      printResult(o.json, result, () => [
        `pretrained ${o.layers} layers × ${o.heads} heads, dim ${o.dim}, context ${o.seqLen} on ${docs.length} documents`,
        `${o.steps} steps in ${history.wallSeconds.toFixed(1)} s (${Math.round(history.tokensPerSecond)} tokens/s); loss (mean of last ${last.length} steps) ${finalLoss.toFixed(4)}`,
        `saved ${o.out}`,
      ]);
    });
}

function asDocument(text: string): Sample {
  return { prompt: '', response: text };
}

/**
 * Documents from a file: a .jsonl gives one "prompt\nresponse" document per sample; any other
 * file one document per non-blank line. A document longer than the context is cut into pieces
 * that fit (the model reads the separator, then the document; the eos is only a target).
 */
async function readCorpus(file: string, tokenizer: Tokenizer, seqLen: number): Promise<Sample[]> {
  const texts = file.endsWith('.jsonl')
    ? (await readPromptSamples(file)).map((s) => `${s.prompt}\n${s.response}`)
    : (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const room = seqLen - 1;
  return texts.flatMap((t) => splitToFit(t, tokenizer, room).map(asDocument));
}

/** Cuts `text` at character boundaries into pieces of at most `room` tokens each. */
function splitToFit(text: string, tokenizer: Tokenizer, room: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  for (const ch of text) {
    if (piece !== '' && tokenizer.encode(piece + ch).length > room) {
      pieces.push(piece);
      piece = '';
    }
    piece += ch;
  }
  if (piece !== '') pieces.push(piece);
  return pieces;
}
