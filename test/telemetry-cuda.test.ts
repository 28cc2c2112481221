// AP telemetry on CUDA: the exactness check of test/telemetry.test.ts with the CUDA engine
// (each training sample's telemetry score against activationPattern of that sample at θ_t,
// on the GPU, same precision). Without a GPU the tests are registered as skipped;
// HEADGRAD_DEVICE=cuda (scripts/gpu-check.sh) makes a missing GPU fail them instead.
// The bounds are the CPU's: f32 rounding (1e-5 of the scale) in f32; bf16 rounding in bf16
// (1e-3 at a power-of-two batch, 3e-2 otherwise; see test/telemetry.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backendInfo } from '../lib/index.js';
import { Rng } from '../lib/util/random.js';
import { GPT2_CONFIG, LLAMA_CONFIG, telemetryExactness } from './helpers/telemetry_exactness.js';
import { testSeed } from './helpers/seed.js';

const forced = process.env.HEADGRAD_DEVICE === 'cuda';
const cuda = backendInfo().cuda;
const gpuTest = cuda.available || forced ? test : test.skip;
if (!cuda.available && !forced) console.log(`  telemetry on CUDA: skipped, no GPU (${cuda.reason ?? 'no CUDA device'})`);
const rng = new Rng(testSeed('telemetry-cuda'));

const cases = [['f32', 5, 1e-5], ['bf16', 4, 1e-3], ['bf16', 5, 3e-2]] as const;
for (const [name, cfg] of [['GPT-2', GPT2_CONFIG], ['Llama (GQA 4/2, RoPE, RMSNorm, SwiGLU)', LLAMA_CONFIG]] as const) {
  for (const [precision, batchSize, bound] of cases) {
    gpuTest(`${name} ${precision} on CUDA, batch ${batchSize}: each sample's telemetry score = activationPattern at θ_t (≤ ${bound} of the scale)`, async () => {
      const r = await telemetryExactness(cfg, { rng, device: 'cuda', precision, batchSize, steps: 4 });
      console.log(`  ${name} ${precision} batch ${batchSize} (cuda): ${r.compared} scores, worst error ${r.sampleError.toExponential(2)} of the scale; batch AP ${r.apError.toExponential(2)}`);
      assert.ok(r.sampleError <= bound, `per-sample scores differ by ${r.sampleError} of the scale`);
      assert.ok(r.apError <= bound, `batch AP differs by ${r.apError} of its largest value`);
    });
  }
}

test.run();
