// Checkpoints through the GPT class: the llm.c and Hugging Face layouts of the same weights,
// written by the tests' own writers, load into models that compute the same loss as the
// original. (The save -> load round trip of own files is in gpt.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GPT, parameterCount, type GPTConfig } from '../lib/index.js';
import { Rng } from '../lib/util/random.js';
import { hfConfigJson, hfStateDict, llmcBytes, safetensorsBytes } from './helpers/checkpoint_writers.js';
import { withTempDir } from './helpers/temp_dir.js';
import { testSeed } from './helpers/seed.js';

const SEED = testSeed('checkpoint-gpt');

const cfg: GPTConfig = { vocabSize: 13, maxSeqLen: 9, layers: 2, heads: 2, dim: 8 };

test('llm.c .bin and HF GPT-2 folder of the same weights load with identical parameters and loss', async () => {
  const rng = new Rng(SEED + 21);
  const params = Float32Array.from({ length: parameterCount(cfg) }, () => 0.3 * rng.normal());
  const original = await GPT.create({ ...cfg, device: 'cpu', seed: 1 });
  original.importParametersSync(params);
  const models: GPT[] = [];
  try {
    await withTempDir('ckgpt', async (dir) => {
      const bin = path.join(dir, 'gpt2.bin');
      await writeFile(bin, llmcBytes(cfg, params));
      const hf = path.join(dir, 'hf');
      await mkdir(hf);
      await writeFile(path.join(hf, 'config.json'), hfConfigJson(cfg));
      await writeFile(path.join(hf, 'model.safetensors'), safetensorsBytes(hfStateDict(cfg, params), 'F32'));

      const batch = 2, seqLen = 7;
      const tokens = Int32Array.from({ length: batch * seqLen }, () => rng.int(cfg.vocabSize));
      const targets = Int32Array.from({ length: batch * seqLen }, () => rng.int(cfg.vocabSize));
      const o = { batch, seqLen, targets };
      const expected = (await original.forward(tokens, o)).loss;
      assert.ok(Number.isFinite(expected) && expected > 0);
      for (const file of [bin, hf]) {
        const m = await GPT.load(file, { device: 'cpu' });
        models.push(m);
        assert.equal(m.config, cfg);
        assert.ok(Buffer.from(m.exportParametersSync().buffer).equals(Buffer.from(params.buffer)), file);
        assert.is((await m.forward(tokens, o)).loss, expected, file);
      }
    });
  } finally {
    for (const m of models) m.dispose();
    original.dispose();
  }
});

test.run();
