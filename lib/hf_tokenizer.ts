// A Hugging Face tokenizer read from a model folder: tokenizer.json (the tokenizer itself, run by
// @huggingface/tokenizers, a pure-JS implementation of the Rust crate's BPE / WordPiece /
// Unigram models and their pre- and post-processing) and tokenizer_config.json (the special
// tokens and the chat template).
//
// Conventions, as transformers has them:
// - encode(text) adds no special tokens and parses special-token strings inside the text as
//   those tokens (so a rendered chat template becomes its control tokens);
// - `prefix` holds what the tokenizer's post-processor puts before a single text (Llama's BOS;
//   empty for Qwen2): prompt/response samples start with it, as `tokenizer(text)` would;
// - eos is tokenizer_config.json's eos_token, else config.json's eos_token_id; pad is pad_token,
//   else eos (a pad position never carries loss, so its id only has to be valid).
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import type { Tokenizer } from './tokenizer.js';
import { ChatTemplate } from './chat_template.js';
import { HeadgradError, HeadgradRangeError } from './errors.js';

export class HfTokenizer implements Tokenizer {
  readonly name = 'hf';
  readonly vocabSize: number;
  readonly eos: number;
  readonly pad: number;
  readonly separator: Int32Array;
  readonly prefix: Int32Array;
  readonly special: Readonly<Record<string, number>>;
  readonly chatTemplate?: ChatTemplate;
  readonly #tok: HfTokenizerImpl;

  /**
   * tokenizerJson / tokenizerConfig: the parsed files; `where` names the folder in errors;
   * eosFallback: config.json's eos_token_id, used when tokenizer_config.json has no eos_token.
   */
  constructor(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown>, o: { where: string; eosFallback?: number; chatTemplate?: string }) {
    const { where } = o;
    try {
      this.#tok = new HfTokenizerImpl(tokenizerJson as object, tokenizerConfig);
    } catch (e) {
      throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${where}/tokenizer.json: not a tokenizer this library reads: ${(e as Error).message}`);
    }
    let maxId = -1;
    for (const id of this.#tok.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    const special: Record<string, number> = {};
    for (const [id, t] of this.#tok.get_added_tokens_decoder()) if (t.special) special[t.content] = id;
    this.special = special;

    const tokenId = (field: string): number | undefined => {
      const text = tokenText(tokenizerConfig[field]);
      if (text === undefined) return undefined;
      const id = this.#tok.token_to_id(text);
      if (id === undefined) throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${where}/tokenizer_config.json: ${field} ${JSON.stringify(text)} is not a token of tokenizer.json`);
      return id;
    };
    const eos = tokenId('eos_token') ?? o.eosFallback;
    if (eos === undefined) {
      throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${where}: no end-of-sequence token: tokenizer_config.json has no eos_token and config.json no eos_token_id`);
    }
    this.eos = eos;
    this.pad = tokenId('pad_token') ?? eos;
    this.separator = this.encode('\n');
    this.prefix = prefixOf(this.#tok);

    const template = o.chatTemplate;
    if (template !== undefined) {
      const specials: Record<string, string> = {};
      for (const k of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
        const t = tokenText(tokenizerConfig[k]);
        if (t !== undefined) specials[k] = t;
      }
      this.chatTemplate = new ChatTemplate(template, specials, `${where}: chat_template`);
    }
  }

  encode(text: string): Int32Array {
    return Int32Array.from(this.#tok.encode(text, { add_special_tokens: false }).ids);
  }

  // Special tokens are printed as their text and spaces are left as decoded, so that
  // decode(encode(text)) gives the text back.
  decode(ids: ArrayLike<number>): string {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new HeadgradRangeError(`HfTokenizer.decode: ids[${i}] = ${id} is not a token id (0..${this.vocabSize - 1})`);
      }
    }
    if (ids.length === 0) return '';
    return this.#tok.decode(Array.from(ids), { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }
}

/** The tokens the post-processor puts before a single text: encode('a') with and without special tokens. */
function prefixOf(tok: HfTokenizerImpl): Int32Array {
  const plain = tok.encode('a', { add_special_tokens: false }).ids;
  const full = tok.encode('a', { add_special_tokens: true }).ids;
  for (let at = 0; at + plain.length <= full.length; at++) {
    if (plain.every((id: number, i: number) => full[at + i] === id)) return Int32Array.from(full.slice(0, at));
  }
  return new Int32Array(0);
}

/** A special token in tokenizer_config.json: a string, or an AddedToken object with `content`. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/**
 * Reads the tokenizer of a model folder. tokenizer.json is required (the error names it);
 * tokenizer_config.json is optional; the chat template comes from tokenizer_config.json's
 * chat_template (a string, or a list of {name, template} of which 'default' is used), else from
 * chat_template.jinja or chat_template.json in the folder.
 */
export async function readHfTokenizer(dir: string, o: { eosFallback?: number } = {}): Promise<HfTokenizer> {
  const tokFile = path.join(dir, 'tokenizer.json');
  if (!(await isFile(tokFile))) {
    throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${dir}: the model folder has no tokenizer.json (headgrad reads the Hugging Face fast-tokenizer file; a folder with only tokenizer.model or vocab.json/merges.txt needs tokenizer.json saved beside them)`);
  }
  const tokenizerJson = await readJson(tokFile);
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const config = (await isFile(cfgFile)) ? await readJson(cfgFile) : {};
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${cfgFile}: expected a JSON object`);
  const chatTemplate = await findChatTemplate(dir, config as Record<string, unknown>);
  return new HfTokenizer(tokenizerJson, config as Record<string, unknown>, { where: dir, eosFallback: o.eosFallback, chatTemplate });
}

async function findChatTemplate(dir: string, config: Record<string, unknown>): Promise<string | undefined> {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find((x) => x?.name === 'default') ?? t[0];
    if (typeof named?.template === 'string') return named.template;
    throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${dir}/tokenizer_config.json: chat_template is a list without a {name, template} entry`);
  }
  const jinja = path.join(dir, 'chat_template.jinja');
  if (await isFile(jinja)) return readFile(jinja, 'utf8');
  const json = path.join(dir, 'chat_template.json');
  if (await isFile(json)) {
    const v = (await readJson(json)) as { chat_template?: unknown };
    if (typeof v?.chat_template === 'string') return v.chat_template;
    throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${json}: expected {"chat_template": "..."}`);
  }
  return undefined;
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${file}: not valid JSON: ${(e as Error).message}`);
  }
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}
