// Tokenizer files for tests, built here so no test downloads one: a tiny byte-level BPE in the
// shape of Llama 3's and Qwen2's tokenizer.json (256 byte symbols, a few merges, added special
// tokens, optionally a BOS post-processor) and a WordLevel one, each with a tokenizer_config.json
// holding the special tokens and a chat template.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

// GPT-2's byte -> printable character map, which byte-level BPE vocabularies are written in.
function byteSymbols(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const sym: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) sym[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  return sym;
}

// Written the way the published templates are: text inside {{- '...' }} so that the {%- %}
// whitespace control does not eat the newlines.
export const LLAMA3_TEMPLATE =
  "{{- bos_token }}{%- for m in messages %}{{- '<|start_header_id|>' + m.role + '<|end_header_id|>\\n\\n' + (m.content | trim) + '<|eot_id|>' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

export const CHATML_TEMPLATE =
  "{%- if messages[0].role != 'system' %}{{- '<|im_start|>system\\nYou are helpful.<|im_end|>\\n' }}{%- endif %}" +
  "{%- for m in messages %}{{- '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

export interface BpeOptions {
  /** Added special tokens, in id order after the merges. */
  specials: string[];
  /** A post-processor that puts this special token before every text (Llama's BOS). */
  bos?: string;
  eos: string;
  pad?: string;
  chatTemplate?: string;
}

export const LLAMA3_SPECIALS = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'];
export const CHATML_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

const MERGES = ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'o r', 'Ġw or', 'Ġwor l', 'Ġworl d', 'a s', 's i', 'as si', 'assi st', 'Ġ t'];

/** tokenizer.json and tokenizer_config.json of a tiny byte-level BPE; vocabulary = 256 + merges + specials. */
export function bpeTokenizerFiles(o: BpeOptions): { tokenizer: object; config: object; vocabSize: number } {
  const sym = byteSymbols();
  const vocab: Record<string, number> = {};
  sym.forEach((s, b) => (vocab[s] = b));
  let id = 256;
  // merge parts are written in byte symbols; 'Ġ' is the space byte's symbol
  for (const m of MERGES) vocab[m.replace(' ', '')] = id++;
  const added = o.specials.map((content, i) => ({
    id: id + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const ids = Object.fromEntries(added.map((a) => [a.content, a.id]));
  const post = o.bos
    ? {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: o.bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: o.bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [o.bos]: { id: o.bos, ids: [ids[o.bos]], tokens: [o.bos] } },
    }
    : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true };
  const tokenizer = {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: post,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: MERGES,
    },
  };
  const config: Record<string, unknown> = { eos_token: o.eos, clean_up_tokenization_spaces: true };
  if (o.bos) config.bos_token = o.bos;
  if (o.pad) config.pad_token = { content: o.pad, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  if (o.chatTemplate) config.chat_template = o.chatTemplate;
  return { tokenizer, config, vocabSize: id + o.specials.length };
}

/** Llama 3 style: BOS post-processor, <|eot_id|> as eos, the header/eot chat template. */
export function llama3TokenizerFiles() {
  return bpeTokenizerFiles({ specials: LLAMA3_SPECIALS, bos: '<|begin_of_text|>', eos: '<|eot_id|>', chatTemplate: LLAMA3_TEMPLATE });
}

/** Qwen2 style: no BOS, <|im_end|> as eos, <|endoftext|> as pad, a ChatML template with a default system turn. */
export function chatmlTokenizerFiles() {
  return bpeTokenizerFiles({ specials: CHATML_SPECIALS, eos: '<|im_end|>', pad: '<|endoftext|>', chatTemplate: CHATML_TEMPLATE });
}

/** A WordLevel tokenizer on whitespace-split words (no chat template). */
export function wordLevelTokenizerFiles(words: string[]): { tokenizer: object; config: object; vocabSize: number } {
  const vocab: Record<string, number> = { '[UNK]': 0, '[EOS]': 1 };
  for (const w of words) vocab[w] ??= Object.keys(vocab).length;
  const tokenizer = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [
      { id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 1, content: '[EOS]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
    model: { type: 'WordLevel', vocab, unk_token: '[UNK]' },
  };
  return { tokenizer, config: { eos_token: '[EOS]' }, vocabSize: Object.keys(vocab).length };
}

/** Writes tokenizer.json and tokenizer_config.json into dir. */
export async function writeTokenizerFiles(dir: string, files: { tokenizer: object; config: object }): Promise<void> {
  await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
  await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(files.config));
}
