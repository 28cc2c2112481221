// How the tests compare computed tensors with references and with each other.
import { appendFileSync } from 'node:fs';
import * as assert from 'uvu/assert';

/**
 * max|got − want| / max(max|want|, floor): the error relative to the tensor's scale, which is
 * what f32 accumulation can promise (element-wise relative error cannot). With unit-normal
 * inputs a floor of 1 keeps a reference that cancels to ~0 (attention's dq at T = 1)
 * meaningful. A NaN or Inf in got counts as an infinite error.
 */
export function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>, floor = 1): number {
  assert.is(got.length, want.length, 'output length');
  let err = 0;
  let scale = floor;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / scale;
}

export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/**
 * Asserts error < bound for a randomised check, and records the error for `npm run test:seeds`
 * (scripts/test-seeds.mjs), which reports the worst error of each label over a sweep beside its
 * bound: how a bound is measured and how much margin it keeps. The label names the check, the
 * same on every seed (no seed-dependent values in it); detail goes in the failure message only.
 */
export function within(label: string, error: number, bound: number, detail = ''): void {
  const record = process.env.HEADGRAD_TEST_RECORD;
  if (record) appendFileSync(record, `${JSON.stringify({ label, error: Number.isFinite(error) ? error : String(error), bound, seed: process.env.HEADGRAD_TEST_SEED ?? null })}\n`);
  // HEADGRAD_TEST_MEASURE=1 (with a record): measure a worst case before a bound is set, so a draw
  // over the bound does not end the test and hide the draws after it
  if (record && process.env.HEADGRAD_TEST_MEASURE === '1') return;
  assert.ok(error < bound, `${label}: ${error} is not below the bound ${bound}${detail ? `\n${detail}` : ''}`);
}
