// Every CLI command on a Hugging Face Llama-3-style folder (GQA, llama3 rope scaling, tied
// embeddings) with its own tokenizer.json and chat template, all written by the test: patterns
// (task, chat data, shards + merge), sft into a new folder, ablate, decompose, reproduce --model
// (3 layers × 4 heads: reproduce decomposes on 7 basic tasks and needs more heads than that).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GPTConfig } from '../lib/checkpoint/index.js';
import { Rng } from '../lib/util/random.js';
import { writeHfLlamaFolder } from './helpers/hf_llama_folder.js';
import { llama3TokenizerFiles, writeTokenizerFiles } from './helpers/hf_tokenizer_files.js';
import { randomReferenceParameters } from './helpers/reference_model.js';
import { suiteTempDir } from './helpers/temp_dir.js';
import { fixtureSeed } from './helpers/seed.js';
import { cli, cliJson } from './helpers/cli_run.js';

const dir = suiteTempDir(test, 'llama-cli');
const f = (n: string) => path.join(dir, n);
const model = f('llama3');
const tok = llama3TokenizerFiles();
const cfg: GPTConfig = {
  vocabSize: tok.vocabSize + 5, maxSeqLen: 96, layers: 3, heads: 4, dim: 16, kvHeads: 2, ffnDim: 24, norm: 'rmsnorm', normEps: 1e-5,
  positions: 'rope', ropeTheta: 500000, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 32 },
  mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: true,
};

const json = cliJson;

test.before(async () => {
  await writeHfLlamaFolder(model, 'llama', cfg, randomReferenceParameters(cfg, new Rng(fixtureSeed('llama-cli') + 7), 0.1), { dtype: 'BF16' });
  await writeTokenizerFiles(model, tok);
  const chats = Array.from({ length: 8 }, (_, i) => JSON.stringify({
    messages: [{ role: 'user', content: `say hello ${i}` }, { role: 'assistant', content: `hello world ${i}` }],
  }));
  writeFileSync(f('chat.jsonl'), chats.join('\n') + '\n');
});

test('patterns, sft into a folder, patterns after, ablate, decompose on a Llama folder', () => {
  const before = json('patterns', '--model', model, '--task', 'reverse', '--samples', '6', '--out', f('before.json'));
  assert.is(before.values.length, cfg.layers * cfg.heads);
  assert.ok(before.values.every((v: number) => v > 0 && Number.isFinite(v)));
  const chat = json('patterns', '--model', model, '--data', f('chat.jsonl'), '--out', f('chat.json'));
  assert.is(chat.provenance.samples, 8);
  for (const k of [1, 2]) cli('patterns', '--model', model, '--data', f('chat.jsonl'), '--batch', '3', '--shard', `${k}/2`, '--out', f(`part${k}.json`));
  const merged = json('patterns', 'merge', f('part1.json'), f('part2.json'), '--out', f('merged.json'));
  const one = json('patterns', '--model', model, '--data', f('chat.jsonl'), '--batch', '3');
  assert.equal(merged.values, one.values);

  const run = json('sft', '--model', model, '--task', 'reverse', '--samples', '12', '--eval-samples', '4', '--steps', '3',
    '--batch', '4', '--lr', '1e-3', '--out', f('tuned'));
  assert.is(run.steps.length, 3);
  // the fine-tuned model is a Hugging Face folder with the tokenizer beside it
  assert.equal(readdirSync(f('tuned')).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  const after = json('patterns', '--model', f('tuned'), '--task', 'reverse', '--samples', '6', '--out', f('after.json'));
  assert.is(after.provenance.dataHash, before.provenance.dataHash);
  assert.is.not(after.provenance.modelHash, before.provenance.modelHash);

  const r = json('ablate', '--model', model, '--task', 'reverse', '--pattern', f('before.json'), '--k', '2', '--draws', '2', '--samples', '3');
  assert.is(r.topK.heads.length, 2);
  cli('patterns', '--model', model, '--task', 'sort', '--samples', '6', '--out', f('sort-before.json'));
  cli('patterns', '--model', f('tuned'), '--task', 'sort', '--samples', '6', '--out', f('sort-after.json'));
  const dec = json('decompose', '--target', f('after.json'), '--target-before', f('before.json'),
    '--base', `sort=${f('sort-after.json')}`, '--base-before', `sort=${f('sort-before.json')}`, '--permutations', '10');
  assert.ok(Number.isFinite(dec.coefficients.sort));
});

test('reproduce --quick --model on a Llama folder writes its report', () => {
  const out = json('reproduce', '--model', model, '--quick', '--out', f('report'));
  assert.ok(existsSync(out.html));
  assert.ok(Array.isArray(out.verdicts));
});

test.run();
