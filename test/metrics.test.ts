import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cosine, cv, gini, pearson, spearman, topK, topKJaccard } from '../lib/index.js';
import { ranks } from '../lib/utils.js';
import { Rng } from '../lib/util/random.js';
import { testSeed } from './helpers/seed.js';

const SEED = testSeed('metrics');

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

// The definition, literally: Σ_i Σ_j |a_i − a_j| / (2 n² mean)
function giniPairs(a: number[]): number {
  const n = a.length;
  const mean = a.reduce((s, v) => s + v, 0) / n;
  let s = 0;
  for (const x of a) for (const y of a) s += Math.abs(x - y);
  return s / (2 * n * n * mean);
}

test('gini: hand-computed cases', () => {
  close(gini([1, 1, 1, 1]), 0);
  close(gini([0, 0, 0, 1]), 0.75); // pairs: 6 ordered pairs differ by 1 -> 6 / (2·16·0.25)
  close(gini([1, 3]), 0.25); // |1−3|·2 / (2·4·2)
  close(gini([5]), 0);
});

test('gini: the sort-based form equals the pairwise definition on random inputs', () => {
  const rng = new Rng(SEED + 1);
  for (const n of [2, 7, 144, 1000]) {
    const a = Array.from({ length: n }, () => rng.next() * 3);
    close(gini(a), giniPairs(a), 1e-12);
    close(gini(new Float64Array(a)), giniPairs(a), 1e-12);
  }
});

test('gini: negative values throw, all-zero gives NaN', () => {
  assert.throws(() => gini([1, -1]), /non-negative/);
  assert.ok(Number.isNaN(gini([0, 0, 0])));
});

test('cv: population standard deviation over the mean', () => {
  close(cv([2, 4, 4, 4, 5, 5, 7, 9]), 2 / 5); // the textbook population std 2, mean 5
  close(cv([3, 3, 3]), 0);
  assert.ok(Number.isNaN(cv([1, -1])));
});

test('pearson: hand-computed and invariances', () => {
  close(pearson([1, 2, 3], [2, 4, 6]), 1);
  close(pearson([1, 2, 3], [3, 2, 1]), -1);
  close(pearson([1, 2, 3, 4], [1, 3, 2, 4]), 0.8); // Σdxdy = 4, Σdx² = Σdy² = 5
  const rng = new Rng(SEED + 2);
  const a = Array.from({ length: 50 }, () => rng.normal());
  const b = a.map((v) => v + rng.normal());
  close(pearson(a, b), pearson(b.map((v) => 3 * v + 7), a), 1e-12);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
});

test('spearman: average ranks for ties', () => {
  assert.equal(Array.from(ranks([10, 20, 20, 5])), [2, 3.5, 3.5, 1]);
  close(spearman([1, 2, 3, 4], [1, 4, 9, 16]), 1); // monotone, not linear
  close(spearman([1, 2, 3], [3, 2, 1]), -1);
  // ranks a = [1, 2.5, 2.5, 4], b = [1, 2, 3, 4]: Σdd = 4.5, Σda² = 4.5, Σdb² = 5
  close(spearman([1, 2, 2, 3], [1, 2, 3, 4]), 4.5 / Math.sqrt(4.5 * 5));
  assert.ok(Number.isNaN(spearman([2, 2], [1, 2])));
});

test('cosine: hand-computed', () => {
  close(cosine([1, 0], [0, 1]), 0);
  close(cosine([1, 2, 3], [2, 4, 6]), 1);
  close(cosine([1, 1], [1, 0]), Math.SQRT1_2);
  assert.ok(Number.isNaN(cosine([0, 0], [1, 2])));
});

test('topK and topKJaccard', () => {
  assert.equal(topK([0.1, 0.9, 0.5, 0.9], 3), [1, 3, 2]); // tie: lower index first
  close(topKJaccard([4, 3, 2, 1], [4, 3, 2, 1], 2), 1);
  close(topKJaccard([4, 3, 2, 1], [1, 2, 3, 4], 2), 0);
  close(topKJaccard([4, 3, 2, 1], [4, 1, 3, 2], 2), 1 / 3); // {0,1} vs {0,2}
  assert.throws(() => topK([1, 2], 3), /k must be an integer in \[1, 2\], got 3/);
  assert.throws(() => topK([1, 2], 0), /k must be/);
});

test('bad inputs throw errors that say what is wrong', () => {
  assert.throws(() => pearson([1, 2], [1, 2, 3]), /a has 2 values but b has 3/);
  assert.throws(() => gini([]), /empty/);
  assert.throws(() => cv([1, NaN]), /value \[1\] must be a finite number/);
  assert.throws(() => cosine([1], undefined as unknown as number[]), /expected an array/);
});

test.run();
