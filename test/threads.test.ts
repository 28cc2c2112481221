// Results do not depend on the number of threads (HEADGRAD_THREADS=1 vs 2, each run in its own
// process, since the thread pools are sized at load):
// - with the built-in gemm (HEADGRAD_GEMM=blocked), everything is bitwise the same: the
//   engine's forward, head scores, gradients and AdamW steps, sft, activationPattern;
// - with OpenBLAS (the default where it is installed), the forward pass, the head scores and
//   activationPattern are; weight gradients are not, since OpenBLAS splits the reduction over
//   batch·seqLen rows of the weight-gradient gemm by thread count (README, GPT engine).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const script = fileURLToPath(new URL('./helpers/model_digest.ts', import.meta.url));

function digests(threads: string, gemm?: string): Record<string, string> {
  const env: NodeJS.ProcessEnv = { ...process.env, HEADGRAD_THREADS: threads };
  delete env.OPENBLAS_NUM_THREADS; // left to HEADGRAD_THREADS, as for a user who sets only it
  delete env.OMP_NUM_THREADS;
  if (gemm) env.HEADGRAD_GEMM = gemm;
  else delete env.HEADGRAD_GEMM;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', script], { env, encoding: 'utf8' }).trim());
}

test('built-in gemm: engine (forward, scores, training), sft and activationPattern bitwise the same with 1 and 2 threads', () => {
  const one = digests('1', 'blocked');
  const two = digests('2', 'blocked');
  assert.equal(Object.keys(one), ['forward', 'training', 'sft', 'activation']);
  for (const v of Object.values(one)) assert.match(v, /^[0-9a-f]{64}$/);
  for (const k of Object.keys(one)) assert.is(two[k], one[k], `${k} differs between 1 and 2 threads`);
});

test('default gemm: forward, head scores and activationPattern bitwise the same with 1 and 2 threads', () => {
  const one = digests('1');
  const two = digests('2');
  for (const k of ['forward', 'activation']) assert.is(two[k], one[k], `${k} differs between 1 and 2 threads`);
});

test.run();
