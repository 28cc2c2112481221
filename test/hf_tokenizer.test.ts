// Hugging Face tokenizers from a model folder, chat templates and the assistant-only loss mask.
// Every tokenizer here is built by test/helpers/hf_tokenizer_files.ts; nothing is downloaded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readHfTokenizer, type HfTokenizer } from '../lib/hf_tokenizer.js';
import { tokenizerForModel } from '../lib/model_tokenizer.js';
import { chatPromptTokens, encodeChat } from '../lib/data/chat.js';
import { makeBatch } from '../lib/data/batch.js';
import { readSamples } from '../lib/data/jsonl.js';
import type { ChatMessage } from '../lib/chat_template.js';
import {
  bpeTokenizerFiles, chatmlTokenizerFiles, llama3TokenizerFiles, wordLevelTokenizerFiles, writeTokenizerFiles, LLAMA3_SPECIALS,
} from './helpers/hf_tokenizer_files.js';
import { rejects } from './helpers/rejects.js';
import { suiteTempDir } from './helpers/temp_dir.js';

const root = suiteTempDir(test, 'hf-tokenizer');

async function folder(name: string, files?: { tokenizer: object; config: object }, config: object = { model_type: 'llama', vocab_size: 1000 }): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  if (files) await writeTokenizerFiles(dir, files);
  return dir;
}

let llama: HfTokenizer;
let chatml: HfTokenizer;
const llamaIds = Object.fromEntries(LLAMA3_SPECIALS.map((s, i) => [s, 256 + 14 + i]));

test.before(async () => {
  llama = await readHfTokenizer(await folder('llama3', llama3TokenizerFiles()));
  chatml = await readHfTokenizer(await folder('chatml', chatmlTokenizerFiles()));
});

test('byte-level BPE: merges apply, round trip is exact, specials in text become their tokens', () => {
  // 'hello' is merge 4 (id 259), ' world' merge 9 (id 264); 'hi' has no merge: two byte tokens
  assert.equal(Array.from(llama.encode('hello world')), [259, 264]);
  assert.equal(Array.from(llama.encode('hi')), [104, 105]);
  for (const text of ['hello world', '  two  spaces\nand a newline\t tab', 'héllo 日本語 🙂', '', 'x<|eot_id|>y']) {
    assert.is(llama.decode(llama.encode(text)), text, JSON.stringify(text));
  }
  assert.equal(Array.from(llama.encode('a<|eot_id|>')), [97, llamaIds['<|eot_id|>']]);
  assert.is(llama.vocabSize, 256 + 14 + LLAMA3_SPECIALS.length);
  assert.throws(() => llama.decode([llama.vocabSize]), /ids\[0\] = 275 is not a token id/);
});

test('special tokens: prefix from the post-processor, eos from tokenizer_config, pad falls back to eos', () => {
  assert.equal(Array.from(llama.prefix), [llamaIds['<|begin_of_text|>']]);
  assert.is(llama.eos, llamaIds['<|eot_id|>']);
  assert.is(llama.pad, llama.eos);
  assert.equal(Array.from(llama.separator), [10]);
  assert.is(llama.special['<|start_header_id|>'], llamaIds['<|start_header_id|>']);
  // Qwen2 style: no BOS, pad_token given as an AddedToken object
  assert.equal(Array.from(chatml.prefix), []);
  assert.is(chatml.eos, 270 + 2);
  assert.is(chatml.pad, 270);
});

test('WordLevel tokenizer round trip', async () => {
  const tok = await readHfTokenizer(await folder('words', wordLevelTokenizerFiles(['the', 'cat', 'sat'])));
  assert.equal(Array.from(tok.encode('the cat  sat dog')), [2, 3, 4, 0]);
  assert.is(tok.decode(tok.encode('the cat sat')), 'the cat sat');
  assert.is(tok.eos, 1);
  assert.is(tok.chatTemplate, undefined);
});

test('tokenizerForModel: folder tokenizer, built-in for GPT-2 folders, clear errors', async () => {
  const tok = await tokenizerForModel(await folder('pick', llama3TokenizerFiles()));
  assert.is(tok.name, 'hf');
  const gpt2 = await tokenizerForModel(await folder('gpt2', undefined, { model_type: 'gpt2', vocab_size: 50257 }), { vocabSize: 50257 });
  assert.is(gpt2.name, 'gpt2');
  await rejects(tokenizerForModel(await folder('none', undefined)), /none: the model folder has no tokenizer\.json/);
  await rejects(tokenizerForModel(await folder('small', llama3TokenizerFiles(), { model_type: 'llama', vocab_size: 100 })),
    /tokenizer\.json has 275 token ids but the model's vocabulary \(config\.json vocab_size\) is 100/);
  const noEos = bpeTokenizerFiles({ specials: ['<s>'], eos: '<s>' });
  delete (noEos.config as Record<string, unknown>).eos_token;
  await rejects(tokenizerForModel(await folder('noeos', noEos)), /no end-of-sequence token: tokenizer_config\.json has no eos_token and config\.json no eos_token_id/);
  const fromConfig = await tokenizerForModel(await folder('eosid', noEos, { model_type: 'llama', vocab_size: 300, eos_token_id: [270, 5] }));
  assert.is(fromConfig.eos, 270);
  const badEos = bpeTokenizerFiles({ specials: ['<s>'], eos: '</nope>' });
  await rejects(tokenizerForModel(await folder('badeos', badEos)), /eos_token "<\/nope>" is not a token of tokenizer\.json/);
});

// ---- chat templates and loss masks ----

const conversation: ChatMessage[] = [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: 'say hello' },
  { role: 'assistant', content: 'hello world' },
  { role: 'user', content: 'again?' },
  { role: 'assistant', content: ' hello ' },
];

/** The decoded text of each maximal run of weighted tokens. */
function weightedRuns(tok: HfTokenizer, seq: Int32Array, weighted: Uint8Array): string[] {
  const runs: string[] = [];
  let run: number[] = [];
  for (let i = 0; i <= seq.length; i++) {
    if (i < seq.length && weighted[i]) run.push(seq[i]!);
    else if (run.length) {
      runs.push(tok.decode(run));
      run = [];
    }
  }
  return runs;
}

test('Llama 3 template: the mask covers each assistant turn and its <|eot_id|>, nothing else', () => {
  const text = llama.chatTemplate!.render(conversation);
  assert.ok(text.startsWith('<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nbe brief<|eot_id|>'));
  const e = encodeChat(llama, { messages: conversation }, 'samples[0]');
  assert.is(llama.decode(e.seq), text);
  // the template trims content, so the second turn is "hello"
  assert.equal(weightedRuns(llama, e.seq, e.weighted), ['hello world<|eot_id|>', 'hello<|eot_id|>']);
  // the token before the first weighted one is the header's "\n\n", and the BOS is kept on a cut
  const first = e.weighted.indexOf(1);
  assert.is(e.cutLimit, first - 1);
  assert.is(e.keep, 1);
  assert.is(e.seq[0], llamaIds['<|begin_of_text|>']);
  assert.is(llama.decode(e.seq.subarray(0, first)), llama.chatTemplate!.render(conversation.slice(0, 2), true));
});

test('ChatML (Qwen2) template with a default system turn: assistant turns with <|im_end|>\\n', () => {
  const msgs = conversation.slice(1);
  const e = encodeChat(chatml, { messages: msgs }, 'x');
  const text = chatml.chatTemplate!.render(msgs);
  assert.ok(text.startsWith('<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nsay hello'));
  assert.is(chatml.decode(e.seq), text);
  assert.equal(weightedRuns(chatml, e.seq, e.weighted), ['hello world<|im_end|>\n', ' hello <|im_end|>\n']);
  assert.is(e.keep, 0);
});

test('a template whose prefixes are not prefixes of the whole: turns found by content, then the eos', async () => {
  // The header counts the messages, so rendering the first i messages never starts the whole text.
  const files = llama3TokenizerFiles();
  (files.config as Record<string, unknown>).chat_template =
    '{{ messages | length }} turns\n{% for m in messages %}[{{ m.role }}] {{ m.content }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}';
  const tok = await readHfTokenizer(await folder('counting', files));
  const e = encodeChat(tok, { messages: conversation }, 'x');
  assert.equal(weightedRuns(tok, e.seq, e.weighted), ['hello world<|eot_id|>', 'hello <|eot_id|>']);
});

test('chat errors: no template, no assistant, bad messages, unlocatable turn', async () => {
  const plain = await readHfTokenizer(await folder('plain', bpeTokenizerFiles({ specials: ['<e>'], eos: '<e>' })));
  assert.throws(() => encodeChat(plain, { messages: conversation }, 'samples[3]'), /samples\[3\]: a \{"messages": \[\.\.\.\]\} sample needs a chat template/);
  assert.throws(() => encodeChat(llama, { messages: [{ role: 'user', content: 'hi' }] }, 'q'), /q: no message has role "assistant"/);
  assert.throws(() => encodeChat(llama, { messages: [] }, 'q'), /q: "messages" must be a non-empty array/);
  assert.throws(() => encodeChat(llama, { messages: [{ role: 'user', content: ['a'] }] } as never, 'q'), /messages\[0\]\.content must be a string, got a list/);
  const files = llama3TokenizerFiles();
  (files.config as Record<string, unknown>).chat_template = '{{ messages | length }}{% for m in messages %}{% if m.role != "assistant" %}{{ m.content }}{% endif %}{% endfor %}';
  const hides = await readHfTokenizer(await folder('hides', files));
  assert.throws(() => encodeChat(hides, { messages: conversation }, 'q'), /q: messages\[2\]: the chat template's rendering does not contain this assistant turn/);
});

test('a template that refuses a system turn (as Gemma 2\'s does): a clear error naming the roles, in training data and prompts', async () => {
  const files = llama3TokenizerFiles();
  (files.config as Record<string, unknown>).chat_template = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" +
    '{% for m in messages %}<start_of_turn>{{ m.role }}\n{{ m.content }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}';
  const tok = await readHfTokenizer(await folder('no-system', files));
  const msgs = [{ role: 'system', content: 'be brief' }, ...conversation.filter((m) => m.role !== 'system')];
  const want = /the model's chat template refused this conversation \(roles: system, user[^)]*\): System role not supported; if it has no system role, put the system text at the start of the first user turn/;
  assert.throws(() => encodeChat(tok, { messages: msgs }, 'samples[0]'), (e: Error) => /^samples\[0\]: /.test(e.message) && want.test(e.message));
  assert.throws(() => chatPromptTokens(tok, msgs.slice(0, 2)), (e: Error) => (e as { code?: string }).code === 'ERR_HEADGRAD_DATA' && want.test(e.message));
  // without the system turn the same template renders
  assert.ok(encodeChat(tok, { messages: msgs.slice(1) }, 'samples[0]').seq.length > 0);
});

test('makeBatch on conversations: weights on assistant targets only, per-sample means, BOS kept when cut', () => {
  const a = { messages: conversation };
  const b = { prompt: 'hello', response: 'world' };
  const batch = makeBatch([a, b], llama, { maxSeqLen: 200 });
  const ea = encodeChat(llama, a, 'a');
  const R = ea.weighted.reduce((s, x) => s + x, 0);
  assert.is(batch.responseTokens[0], R);
  let sum = 0;
  for (let t = 0; t < batch.seqLen; t++) {
    const w = batch.lossWeights[t]!;
    assert.is(w > 0, t + 1 < ea.seq.length && ea.weighted[t + 1] === 1, `position ${t}`);
    if (w > 0) assert.is(batch.targets[t], ea.seq[t + 1]);
    sum += w;
  }
  assert.ok(Math.abs(sum - 0.5) < 1e-6);
  // the prompt/response row starts with the BOS prefix: BOS, hello, \n, ' w'... no: 'world' has no leading space
  const row = Array.from(batch.tokens.subarray(batch.seqLen, batch.seqLen + 4));
  assert.equal(row.slice(0, 3), [llamaIds['<|begin_of_text|>'], 259, 10]);
  // cut from the left, after the BOS
  const need = ea.seq.length - 1 - (ea.cutLimit - ea.keep);
  const cut = makeBatch([a], llama, { maxSeqLen: need });
  assert.is(cut.truncated, 1);
  assert.is(cut.tokens[0], llamaIds['<|begin_of_text|>']);
  assert.is(cut.responseTokens[0], R);
  assert.throws(() => makeBatch([a], llama, { maxSeqLen: need - 1 }), new RegExp(`samples\\[0\\]: the tokens from the first assistant turn on need ${need} input tokens, more than maxSeqLen ${need - 1}`));
});

test('JSONL {"messages"} lines are read and checked', async () => {
  const file = path.join(root, 'chat.jsonl');
  await writeFile(file, [
    JSON.stringify({ messages: conversation.map((m) => ({ ...m, extra: 1 })) }),
    JSON.stringify({ prompt: 'p', response: 'r' }),
  ].join('\n'));
  assert.equal(await readSamples(file), [{ messages: conversation }, { prompt: 'p', response: 'r' }]);
  await writeFile(file, JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }));
  await rejects(readSamples(file), /chat\.jsonl:1: no message has role "assistant"/);
});

test.run();
