import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../lib/util/random.js';

test('same seed gives the same stream; different seeds differ', () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const xa = Array.from({ length: 5 }, () => a.next());
  const xb = Array.from({ length: 5 }, () => b.next());
  const xc = Array.from({ length: 5 }, () => c.next());
  assert.equal(xa, xb);
  assert.not.equal(xa, xc);
  for (const x of xa) assert.ok(x >= 0 && x < 1);
});

test('uniform mean and normal moments are about right', () => {
  const r = new Rng(1);
  let s = 0, s2 = 0, m = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) { m += r.next(); const z = r.normal(); s += z; s2 += z * z; }
  assert.ok(Math.abs(m / n - 0.5) < 0.01);
  assert.ok(Math.abs(s / n) < 0.03);
  assert.ok(Math.abs(s2 / n - 1) < 0.05);
});

test('shuffle is a permutation and sample draws distinct indices', () => {
  const r = new Rng(3);
  const p = r.shuffle(Array.from({ length: 50 }, (_, i) => i));
  assert.equal([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  const s = r.sample(10, 10);
  assert.is(new Set(s).size, 10);
  assert.throws(() => r.sample(3, 4), /cannot draw 4/);
});

test.run();
