// Sharded activation patterns: exact sums, partial files, and merge == one run, bit for bit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GPT } from '../lib/model.js';
import { ByteTokenizer } from '../lib/tokenizer.js';
import { getTask } from '../lib/data/tasks.js';
import { ExactSums } from '../lib/patterns/exact_sum.js';
import { activationPattern, activationSums, patternProvenance } from '../lib/patterns/activation.js';
import { mergePartials, readPartial, writePartial, type PartialPattern } from '../lib/patterns/partial.js';
import { Rng } from '../lib/util/random.js';
import { suiteTempDir } from './helpers/temp_dir.js';
import { testSeed } from './helpers/seed.js';
import { within } from './helpers/compare.js';

const SEED = testSeed('pattern-shard');

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = suiteTempDir(test, 'shard');
const f = (n: string) => path.join(dir, n);

test('ExactSums: the same sum in any order and grouping, correctly rounded, lossless in JSON', () => {
  const rng = new Rng(SEED + 5);
  // magnitudes from 2^-60 to 2^60 and both signs: a float64 running sum depends on the order here
  const xs = Array.from({ length: 400 }, () => Math.fround((rng.next() - 0.5) * 2 ** Math.floor(rng.next() * 120 - 60)));
  const sumOf = (order: number[], groups: number) => {
    const parts = Array.from({ length: groups }, () => new ExactSums(1));
    order.forEach((i, k) => parts[k % groups]!.add(0, xs[i]!));
    const total = new ExactSums(1);
    for (const p of parts) total.addAll(ExactSums.fromJSON(p.toJSON(), 1, 'p'));
    return total.values()[0]!;
  };
  const ids = xs.map((_, i) => i);
  const a = sumOf(ids, 1);
  const b = sumOf(new Rng(SEED + 9).shuffle([...ids]), 7);
  assert.is(Object.is(a, b), true, `${a} vs ${b}`);
  // reference: the exact sum as a BigInt in units of 2^-149, rounded once by Number()
  const exact = xs.reduce((s, x) => s + BigInt(x * 2 ** 149), 0n);
  assert.is(a, Number(exact) * 2 ** -149);
  // a float64 running sum depends on the order, which is why the sums are exact
  const big = [1, 2 ** 60, -(2 ** 60)];
  assert.is.not(big.reduce((s, x) => s + x, 0), [...big].reverse().reduce((s, x) => s + x, 0));
  for (const order of [big, [...big].reverse()]) {
    const e = new ExactSums(1);
    for (const x of order) e.add(0, x);
    assert.is(e.values()[0], 1);
  }
  assert.throws(() => new ExactSums(1).add(0, 0.1), /0\.1 is not a finite float32 value/);
  assert.throws(() => ExactSums.fromJSON(['12'], 1, 'w'), /w\[0\]: expected a hexadecimal integer/);
});

const cfg = { vocabSize: 260, maxSeqLen: 48, layers: 2, heads: 3, dim: 24 };
const tokenizer = new ByteTokenizer();
const samples = getTask('reverse').generate(11, 1);

test('shards 1..N merged == the single run, bit for bit (values and signed)', async () => {
  using model = await GPT.create({ ...cfg, seed: (SEED + 2) >>> 0 });
  const whole = await activationPattern(model, samples, { tokenizer, batchSize: 3 });
  const provenance = patternProvenance(model, samples, { seed: 0 });
  for (const of of [1, 2, 3, 5]) {
    const parts: { file: string; partial: PartialPattern }[] = [];
    for (let index = of; index >= 1; index--) {
      const sums = await activationSums(model, samples, { tokenizer, batchSize: 3, shard: { index, of } });
      const file = f(`p${index}of${of}.json`);
      await writePartial(file, { sums, shard: { index, of, batchSize: 3 }, provenance });
      parts.push({ file, partial: await readPartial(file) });
    }
    const { pattern } = mergePartials(parts);
    assert.equal(Array.from(pattern.values), Array.from(whole.values), `values, ${of} shards`);
    assert.equal(Array.from(pattern.signed), Array.from(whole.signed), `signed, ${of} shards`);
    assert.is(pattern.samples, samples.length);
  }
  // the exact mean is the float64 mean up to rounding
  const scores: number[][] = [];
  for (const s of samples) {
    const one = await activationPattern(model, [s], { tokenizer });
    scores.push(Array.from(one.values));
  }
  for (let j = 0; j < whole.values.length; j++) {
    const mean = scores.reduce((a, r) => a + r[j]!, 0) / samples.length;
    within('pattern-shard: merged shards vs the whole pattern, relative', Math.abs(mean - whole.values[j]!) / Math.abs(mean), 1e-5, `head ${j}: ${mean} vs ${whole.values[j]}`);
  }
});

test('merge refuses partials of different runs, missing and repeated shards', async () => {
  using model = await GPT.create({ ...cfg, seed: (SEED + 2) >>> 0 });
  const provenance = patternProvenance(model, samples, { seed: 0 });
  const part = async (index: number, of: number, batchSize = 3, prov = provenance) => ({
    file: `s${index}`,
    partial: { sums: await activationSums(model, samples, { tokenizer, batchSize, shard: { index, of } }), shard: { index, of, batchSize }, provenance: prov },
  });
  const [a, b, c] = [await part(1, 3), await part(2, 3), await part(3, 3)];
  assert.throws(() => mergePartials([a, b]), /missing shard\(s\) 3\/3/);
  assert.throws(() => mergePartials([a, b, c, b]), /shard 2\/3 is given twice \(s2 and s2\)/);
  const otherBatch = await part(3, 3, 4);
  const otherModel = await part(3, 3, 3, { ...provenance, modelHash: 'x' });
  const otherCount = await part(2, 2);
  assert.throws(() => mergePartials([a, b, otherBatch]), /s3 has batch size 4 but s1 has 3: not shards of one run/);
  assert.throws(() => mergePartials([a, b, otherModel]), /s3 has provenance\.modelHash "x"/);
  assert.throws(() => mergePartials([a, otherCount]), /s2 has shard count 2 but s1 has 3/);
  assert.throws(() => mergePartials([]), /no partial files given/);
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, HEADGRAD_DEBUG: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('CLI: patterns --shard K/N, then patterns merge, writes the single run\'s pattern', async () => {
  const model = await GPT.create({ ...cfg, seed: (SEED + 4) >>> 0 });
  await model.save(f('m.safetensors'));
  model.dispose();
  const common = ['--model', f('m.safetensors'), '--task', 'sort', '--samples', '10', '--batch', '2'];
  const one = cli('patterns', ...common, '--out', f('one.json'));
  assert.is(one.code, 0, one.err);
  for (const k of [1, 2, 3]) {
    const r = cli('patterns', ...common, '--shard', `${k}/3`, '--out', f(`part${k}.json`));
    assert.is(r.code, 0, r.err);
  }
  const m = cli('patterns', 'merge', f('part3.json'), f('part1.json'), f('part2.json'), '--out', f('merged.json'));
  assert.is(m.code, 0, m.err);
  const a = JSON.parse(await readFile(f('one.json'), 'utf8'));
  const b = JSON.parse(await readFile(f('merged.json'), 'utf8'));
  assert.equal(b.values, a.values);
  assert.equal(b.signed, a.signed);
  assert.is(b.provenance.dataHash, a.provenance.dataHash);
  assert.is(b.provenance.modelHash, a.provenance.modelHash);
  const bad = cli('patterns', 'merge', f('part1.json'), f('part2.json'), '--out', f('x.json'));
  assert.is(bad.code, 1);
  assert.match(bad.err, /missing shard\(s\) 3\/3/);
  assert.match(cli('patterns', ...common, '--shard', '4/3', '--out', f('x.json')).err, /--shard.*expected K\/N with 1 <= K <= N/);
  assert.match(cli('patterns', ...common, '--shard', '1/3').err, /--shard needs --out FILE/);
  assert.match(cli('patterns', 'merge', f('one.json'), '--out', f('x.json')).err, /"format" must be "headgrad-pattern-partial"/);
});

test.run();
