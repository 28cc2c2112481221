// Evaluation shared by SFT and head ablation: the held-out loss (mean of per-sample means, as
// the SFT objective) and exact-match accuracy of greedy generation under a task's checker.
import type { GPT } from './model.js';
import type { Tokenizer } from './tokenizer.js';
import { makeBatch, promptTokens } from './data/batch.js';
import { chatPromptTokens } from './data/chat.js';
import { isChatSample, lastAssistant, questionAndAnswer, type TrainingSample } from './data/sample.js';
import { HeadgradRangeError } from './errors.js';

/**
 * Decides whether `output` is a correct answer to `prompt` (a task's exact-match checker). For a
 * conversation, `prompt` is its question (data/sample.ts questionAndAnswer).
 */
export type Checker = (prompt: string, output: string) => boolean;

export interface EvalOptions {
  tokenizer: Tokenizer;
  /** Samples per forward pass for the loss (default 16). */
  batchSize?: number;
}

/**
 * Mean over `samples` of the per-sample loss L(x) = mean cross-entropy over x's response tokens
 * (+ eos). Each batch's loss is already the mean of its samples' losses, so batches are
 * combined weighted by their size.
 */
export async function heldOutLoss(model: GPT, samples: readonly TrainingSample[], opts: EvalOptions): Promise<number> {
  if (samples.length === 0) throw new HeadgradRangeError('heldOutLoss: samples must not be empty');
  const batchSize = opts.batchSize ?? 16;
  let total = 0;
  for (let i = 0; i < samples.length; i += batchSize) {
    const chunk = samples.slice(i, i + batchSize);
    const b = makeBatch(chunk, opts.tokenizer, { maxSeqLen: model.config.maxSeqLen });
    const { loss } = await model.forward(b.tokens, { batch: b.batch, seqLen: b.seqLen, targets: b.targets, lossWeights: b.lossWeights });
    total += loss * chunk.length;
  }
  return total / samples.length;
}

export interface AccuracyOptions {
  tokenizer: Tokenizer;
  check: Checker;
  /** Tokens generated at most per sample (default: the sample's reference response tokens + 1, for the eos). */
  maxNewTokens?: number;
}

/**
 * Fraction of samples whose greedy continuation of the prompt (stopped at eos, or at the model's
 * context limit) passes `check`. By default at most reference length + 1 tokens are generated:
 * under exact match an answer that has not stopped by then is wrong anyway. A conversation is
 * scored on its last assistant turn: the prompt is the template's rendering of the messages
 * before it with the generation prompt.
 */
export async function exactMatchAccuracy(model: GPT, samples: readonly TrainingSample[], opts: AccuracyOptions): Promise<number> {
  if (samples.length === 0) throw new HeadgradRangeError('exactMatchAccuracy: samples must not be empty');
  const { tokenizer } = opts;
  let correct = 0;
  for (const s of samples) {
    const { question, answer } = questionAndAnswer(s);
    const wanted = opts.maxNewTokens ?? tokenizer.encode(answer).length + 1;
    // As in training batches (lib/data/batch.ts), a prompt too long for the context loses
    // tokens from the left; the separator (the assistant header) at its end stays.
    const full = isChatSample(s) ? chatPromptTokens(tokenizer, s.messages.slice(0, lastAssistant(s))) : promptTokens(tokenizer, question);
    const prompt = full.subarray(Math.max(0, full.length - Math.max(1, model.config.maxSeqLen - wanted)));
    const maxNewTokens = Math.min(wanted, model.config.maxSeqLen - prompt.length);
    // the new tokens, without the stop token
    const out = await model.generate(prompt, { maxNewTokens, stopToken: tokenizer.eos });
    // A model may have more embedding rows than its tokenizer has tokens (Qwen pads 151,669
    // tokens to 151,936 rows); an answer that picks such a row is no text, so it is wrong.
    if (out.some((id) => id >= tokenizer.vocabSize)) continue;
    if (opts.check(question, tokenizer.decode(out))) correct++;
  }
  return correct / samples.length;
}
