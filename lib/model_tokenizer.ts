// Which tokenizer goes with a model path, for the CLI and the experiments:
//   a folder with tokenizer.json      -> that tokenizer (hf_tokenizer.ts);
//   a GPT-2 folder without one        -> the built-in tokenizer its vocabulary implies (tokenizerFor);
//   any other folder without one      -> an error that names the missing tokenizer.json;
//   a single checkpoint file          -> tokenizerFor(config), as before.
// The tokenizer's ids must fit the model's embedding (a model may have more rows than the
// tokenizer has tokens, as Qwen2 pads its vocabulary; never fewer).
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { GPTConfig } from './checkpoint/layout.js';
import { tokenizerFor, type Tokenizer } from './tokenizer.js';
import { readHfTokenizer } from './hf_tokenizer.js';
import { HeadgradError, HeadgradTypeError } from './errors.js';

/**
 * config: the loaded model's (needed for a single file; for a folder, config.json's vocab_size is
 * used when it is not given, so the tokenizer can be checked before the weights are read).
 */
export async function tokenizerForModel(modelPath: string, config?: Pick<GPTConfig, 'vocabSize'>): Promise<Tokenizer> {
  if (!(await stat(modelPath)).isDirectory()) {
    if (!config) throw new HeadgradTypeError(`tokenizerForModel(${modelPath}): a checkpoint file needs the model's config`);
    return tokenizerFor(config);
  }
  const hfConfig = await readConfigJson(modelPath);
  const vocabSize = config?.vocabSize ?? (hfConfig.vocab_size as number);
  const modelType = typeof hfConfig.model_type === 'string' ? hfConfig.model_type : undefined;
  const hasTokenizer = await stat(path.join(modelPath, 'tokenizer.json')).then((s) => s.isFile(), () => false);
  if (!hasTokenizer && (modelType === undefined || modelType === 'gpt2')) return tokenizerFor(vocabSize);
  const eos = Array.isArray(hfConfig.eos_token_id) ? hfConfig.eos_token_id[0] : hfConfig.eos_token_id;
  const tok = await readHfTokenizer(modelPath, { eosFallback: Number.isInteger(eos) ? (eos as number) : undefined });
  if (Number.isInteger(vocabSize) && tok.vocabSize > vocabSize) {
    throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${modelPath}: tokenizer.json has ${tok.vocabSize} token ids but the model's vocabulary (config.json vocab_size) is ${vocabSize}`);
  }
  return tok;
}

async function readConfigJson(dir: string): Promise<Record<string, unknown>> {
  const file = path.join(dir, 'config.json');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${dir}: the model folder has no config.json`);
  });
  try {
    const v = JSON.parse(text);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${file}: not a JSON object`);
}
