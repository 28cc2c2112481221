// Conversations through the engine and the CLI: a Hugging Face GPT-2 folder with a tokenizer.json
// and a chat template (all written here). The loss of a chat batch is checked against the mean
// cross-entropy over the assistant tokens, computed in float64 from the model's own logits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GPT } from '../lib/model.js';
import { makeBatch } from '../lib/data/batch.js';
import { encodeChat } from '../lib/data/chat.js';
import { readHfTokenizer } from '../lib/hf_tokenizer.js';
import type { ChatSample } from '../lib/data/sample.js';
import { hfStateDict, safetensorsBytes } from './helpers/checkpoint_writers.js';
import { llama3TokenizerFiles, writeTokenizerFiles } from './helpers/hf_tokenizer_files.js';
import { suiteTempDir } from './helpers/temp_dir.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = suiteTempDir(test, 'chat-model');
const modelDir = path.join(dir, 'gpt2-chat');
const files = llama3TokenizerFiles();
const cfg = { vocabSize: files.vocabSize, maxSeqLen: 96, layers: 2, heads: 2, dim: 16 };

const chats: ChatSample[] = Array.from({ length: 12 }, (_, i) => ({
  messages: [
    { role: 'user', content: `say hello ${i % 3}` },
    { role: 'assistant', content: `hello world ${i % 3}` },
    ...(i % 2 ? [{ role: 'user', content: 'again' }, { role: 'assistant', content: 'hello' }] : []),
  ],
}));

test.before(async () => {
  await mkdir(modelDir, { recursive: true });
  const model = await GPT.create({ ...cfg, seed: 3 });
  const params = model.exportParametersSync();
  model.dispose();
  await writeFile(path.join(modelDir, 'config.json'), JSON.stringify({
    model_type: 'gpt2', vocab_size: cfg.vocabSize, n_positions: cfg.maxSeqLen, n_layer: cfg.layers, n_head: cfg.heads, n_embd: cfg.dim,
  }));
  await writeFile(path.join(modelDir, 'model.safetensors'), safetensorsBytes(hfStateDict(cfg, params), 'F32'));
  await writeTokenizerFiles(modelDir, files);
  await writeFile(path.join(dir, 'chat.jsonl'), chats.map((c) => JSON.stringify(c)).join('\n') + '\n');
});

test('chat batch loss = mean over samples of the mean CE over assistant tokens (float64 from logits)', async () => {
  const tok = await readHfTokenizer(modelDir);
  using model = await GPT.load(modelDir);
  const samples = chats.slice(0, 3);
  const b = makeBatch(samples, tok, { maxSeqLen: cfg.maxSeqLen });
  const { loss, logits } = await model.forward(b.tokens, { batch: b.batch, seqLen: b.seqLen, targets: b.targets, lossWeights: b.lossWeights, returnLogits: true });
  const V = cfg.vocabSize;
  let expected = 0;
  samples.forEach((s, r) => {
    const e = encodeChat(tok, s, 'x');
    let sum = 0;
    let n = 0;
    for (let t = 0; t + 1 < e.seq.length; t++) {
      if (!e.weighted[t + 1]) continue;
      const row = logits!.subarray((r * b.seqLen + t) * V, (r * b.seqLen + t + 1) * V);
      let max = -Infinity;
      for (const x of row) max = Math.max(max, x);
      let z = 0;
      for (const x of row) z += Math.exp(x - max);
      sum += Math.log(z) + max - row[e.seq[t + 1]!]!;
      n++;
    }
    expected += sum / n / samples.length;
  });
  assert.ok(Math.abs(loss - expected) < 1e-5 * Math.max(1, expected), `loss ${loss}, float64 ${expected}`);
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), ...args, '--json'], {
    cwd: root, encoding: 'utf8', env: { ...process.env, HEADGRAD_DEBUG: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('CLI on a model folder with a tokenizer: patterns and sft on {"messages"} data', async () => {
  const p = cli('patterns', '--model', modelDir, '--data', path.join(dir, 'chat.jsonl'), '--samples', '6');
  assert.is(p.code, 0, p.err);
  const ap = JSON.parse(p.out);
  assert.is(ap.values.length, cfg.layers * cfg.heads);
  assert.ok(ap.values.every((v: number) => v > 0));
  const s = cli('sft', '--model', modelDir, '--data', path.join(dir, 'chat.jsonl'), '--eval-samples', '4', '--steps', '6',
    '--batch', '4', '--lr', '3e-3', '--out', path.join(dir, 'tuned.safetensors'));
  assert.is(s.code, 0, s.err);
  const run = JSON.parse(s.out);
  assert.is(run.steps.length, 6);
  assert.ok(run.evals.every((e: { loss: number; accuracy: number }) => Number.isFinite(e.loss) && e.accuracy >= 0 && e.accuracy <= 1));
});

test('CLI: a Llama folder without tokenizer.json fails naming the file, before the weights', async () => {
  const bare = path.join(dir, 'bare');
  await mkdir(bare, { recursive: true });
  await writeFile(path.join(bare, 'config.json'), JSON.stringify({ model_type: 'llama', vocab_size: 300 }));
  const r = cli('patterns', '--model', bare, '--task', 'reverse');
  assert.is(r.code, 1);
  assert.match(r.err, /bare: the model folder has no tokenizer\.json/);
});

test.run();
