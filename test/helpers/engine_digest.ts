// Prints one JSON line of SHA-256 digests of what an f32 model computes for fixed inputs, for a
// GPT-2 config and a Llama config (RMSNorm, RoPE, SwiGLU, grouped-query attention, untied
// head): logits, loss, head scores (full and scores-only), gradients and parameters over AdamW
// steps in full and head modes, and generation. Run before and after an engine change, the two
// lines must be equal (f32 results bit-identical):
//   node --import tsx test/helpers/engine_digest.ts
import { createHash } from 'node:crypto';
import { GPT } from '../../lib/model.js';
import { Rng } from '../../lib/util/random.js';

const digest = (...arrays: ArrayBufferView[]) => {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex').slice(0, 16);
};

const configs = {
  gpt2: { vocabSize: 97, maxSeqLen: 40, layers: 2, heads: 4, dim: 32 },
  llama: {
    vocabSize: 97, maxSeqLen: 40, layers: 2, heads: 4, kvHeads: 2, dim: 32, ffnDim: 48, norm: 'rmsnorm', positions: 'rope',
    mlp: 'swiglu', qkvBias: false, linearBias: false, tiedEmbeddings: false,
  },
} as const;
const out: Record<string, string> = {};
for (const [name, cfg] of Object.entries(configs)) {
  const B = 3, T = 37;
  const rng = new Rng(7);
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? -1 : rng.int(cfg.vocabSize)));
  const heads = Uint8Array.from({ length: cfg.layers * cfg.heads }, (_, i) => (i === 1 || i === 6 ? 1 : 0));
  const m = await GPT.create({ ...cfg, seed: 11, device: 'cpu' });
  const seen: ArrayBufferView[] = [];
  const so = await m.forward(tokens, { batch: B, seqLen: T, targets, scoresOnly: true });
  seen.push(Float64Array.of(so.loss), (await m.backward({ scoresOnly: true })).headScores);
  for (let s = 0; s < 4; s++) {
    const f = await m.forward(tokens, { batch: B, seqLen: T, targets, returnLogits: true });
    seen.push(f.logits!, Float64Array.of(f.loss), (await m.backward()).headScores, m.exportGradients());
    await m.step({ lr: 1e-2, weightDecay: 0.1, gradClip: 1, ...(s >= 2 ? { trainableHeads: heads, trainMlp: s === 3 } : {}) });
  }
  const st = m.exportOptimizerState();
  seen.push(m.exportParameters(), st.m, st.v, await m.generate(tokens.subarray(0, 5), { maxNewTokens: 6 }));
  out[name] = digest(...seen);
  m.dispose();
}
console.log(JSON.stringify(out));
