// The CLI on a tiny Hugging Face folder of each later family (Qwen3: head_dim independent of
// hidden_size, per-head q/k norms; OLMo 2: q/k norms over the projections, post norms; Phi-3:
// fused qkv_proj and gate_up_proj, a sliding window; Phi-3 128k: longrope; Gemma 2: GeGLU, four (1 + w) norms a layer,
// soft-caps, local/global layers; Gemma 3 text: its q/k norms and local RoPE base), written
// by the test in the family's own key names with a tokenizer.json: patterns, sft --mode heads
// into a new folder (saved back in the family's names), ablate, reproduce --quick --model.
// 3 layers × 4 heads: reproduce decomposes on 7 basic tasks and needs more heads than that.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { GPTConfig } from '../lib/checkpoint/index.js';
import { Rng } from '../lib/util/random.js';
import { writeHfLlamaFolder, type LlamaType } from './helpers/hf_llama_folder.js';
import { llama3TokenizerFiles, writeTokenizerFiles } from './helpers/hf_tokenizer_files.js';
import { randomReferenceParameters } from './helpers/reference_model.js';
import { suiteTempDir } from './helpers/temp_dir.js';
import { fixtureSeed } from './helpers/seed.js';
import { cli, cliJson } from './helpers/cli_run.js';

const dir = suiteTempDir(test, 'families-cli');
const f = (n: string) => path.join(dir, n);
const tok = llama3TokenizerFiles();
const rng = new Rng(fixtureSeed('families-cli'));
// vocabSize = the tokenizer's: with padded embedding rows (as Qwen's 151936 over 151669 tokens)
// greedy generation of a random model can pick a padding id, which the evaluation's decode
// refuses (a known limitation, outside this test's concern)
const base = {
  vocabSize: tok.vocabSize, maxSeqLen: 96, layers: 3, heads: 4, dim: 16, ffnDim: 24, norm: 'rmsnorm', normEps: 1e-6,
  positions: 'rope', ropeTheta: 1000000, mlp: 'swiglu', qkvBias: false, linearBias: false,
} as const;
const FAMILIES: [LlamaType, GPTConfig, string?][] = [
  ['qwen3', { ...base, kvHeads: 2, headDim: 8, tiedEmbeddings: true, qkNorm: 'head' }],
  ['olmo2', { ...base, kvHeads: 4, tiedEmbeddings: false, qkNorm: 'projection', normPlacement: 'post' }],
  ['phi3', { ...base, kvHeads: 4, tiedEmbeddings: false, slidingWindow: 9 }],
  // the Gemma caps at their released values (50, 30); embedScale √16 = 4 in every dtype
  ['gemma2', { ...base, mlp: 'geglu', kvHeads: 2, headDim: 8, tiedEmbeddings: true, normPlacement: 'both', normWeightOffset: 1,
    embedScale: 4, attnSoftcap: 50, finalSoftcap: 30, queryScale: 8, slidingWindow: 9, layerTypes: ['local', 'global', 'local'] }],
  ['gemma3_text', { ...base, mlp: 'geglu', kvHeads: 2, headDim: 8, tiedEmbeddings: true, normPlacement: 'both', qkNorm: 'head',
    normWeightOffset: 1, embedScale: 4, queryScale: 8, slidingWindow: 9, layerTypes: ['local', 'local', 'global'], ropeLocalTheta: 10000 }],
  // Phi-3 128k's longrope, its original context 24 of 96 (last: the other folders keep their draws)
  ['phi3', { ...base, kvHeads: 4, tiedEmbeddings: false, ropeScaling: { type: 'longrope', shortFactor: [1, 1.2], longFactor: [2, 6],
    originalMaxPositions: 24, attentionFactor: Math.sqrt(1 + Math.log(96 / 24) / Math.log(24)) } }, 'phi3-longrope'],
];

const json = cliJson;

test.before(async () => {
  for (const [type, cfg, name = type] of FAMILIES) {
    await writeHfLlamaFolder(f(name), type, cfg, randomReferenceParameters(cfg, rng, 0.1), { dtype: 'BF16' });
    await writeTokenizerFiles(f(name), tok);
  }
});

for (const [type, cfg, name = type] of FAMILIES) {
  test(`${name}: patterns, sft --mode heads into a folder (saved as ${type}), ablate`, () => {
    const model = f(name);
    const before = json('patterns', '--model', model, '--task', 'reverse', '--samples', '6', '--out', f(`${name}-before.json`));
    assert.is(before.values.length, cfg.layers * cfg.heads);
    assert.ok(before.values.every((v: number) => v > 0 && Number.isFinite(v)));
    const run = json('sft', '--model', model, '--task', 'reverse', '--samples', '12', '--eval-samples', '4', '--steps', '3',
      '--batch', '4', '--lr', '1e-3', '--mode', 'heads', '--top-k', '3', '--heads-from', f(`${name}-before.json`), '--out', f(`${name}-tuned`));
    assert.is(run.steps.length, 3);
    const saved = JSON.parse(readFileSync(path.join(f(`${name}-tuned`), 'config.json'), 'utf8'));
    assert.is(saved.model_type, type);
    assert.equal(saved.rope_scaling?.type, cfg.ropeScaling?.type);
    const after = json('patterns', '--model', f(`${name}-tuned`), '--task', 'reverse', '--samples', '6');
    assert.is.not(after.provenance.modelHash, before.provenance.modelHash);
    const r = json('ablate', '--model', model, '--task', 'reverse', '--pattern', f(`${name}-before.json`), '--k', '2', '--draws', '2', '--samples', '3');
    assert.is(r.topK.heads.length, 2);
  });

  test(`${name}: reproduce --quick --model writes its report`, () => {
    const out = json('reproduce', '--model', f(name), '--quick', '--out', f(`${name}-report`));
    assert.ok(existsSync(out.html));
    assert.ok(Array.isArray(out.verdicts));
  });
}

test.run();
