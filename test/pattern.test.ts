import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deltaPattern, patternFromArray, readPattern, writePattern } from '../lib/index.js';
import { suiteTempDir } from './helpers/temp_dir.js';

const dir = suiteTempDir(test, 'pattern');
const provenance = { modelHash: 'm1', dataHash: 'd1', samples: 32, seed: 7, task: 'gsm8k' };

test('write then read round-trips values, signed values and provenance; no temp file is left', async () => {
  const p = patternFromArray(2, 3, [0.1, 0.2, 0.3, 0.4, 0.5, 1 / 3]);
  const file = path.join(dir, 'ap.json');
  await writePattern(file, p, { signed: [-0.1, 0.2, -0.3, 0.4, -0.5, 1 / 3], provenance });
  const back = await readPattern(file);
  assert.equal(Array.from(back.values), Array.from(p.values));
  assert.equal(Array.from(back.signed!), [-0.1, 0.2, -0.3, 0.4, -0.5, 1 / 3]);
  assert.is(back.kind, 'ap');
  assert.is(back.provenance.task, 'gsm8k');
  assert.type(back.provenance.createdAt, 'string');
  assert.type(back.provenance.toolVersion, 'string');
  assert.equal(readdirSync(dir), ['ap.json']);
});

test('deltaPattern subtracts head by head and checks shapes', () => {
  const d = deltaPattern(patternFromArray(1, 3, [3, 2, 1]), patternFromArray(1, 3, [1, 1, 1]));
  assert.equal(Array.from(d.values), [2, 1, 0]);
  assert.throws(() => deltaPattern(patternFromArray(1, 3, [3, 2, 1]), patternFromArray(3, 1, [1, 1, 1])), /before is 3 × 1 .* after is 1 × 3/);
});

test('patternFromArray rejects bad shapes and values, naming the problem', () => {
  assert.throws(() => patternFromArray(2, 2, [1, 2, 3]), /values has 3 numbers, expected layers × heads = 2 × 2 = 4/);
  assert.throws(() => patternFromArray(0, 2, []), /layers must be a positive integer, got 0/);
  assert.throws(() => patternFromArray(1, 2, [1, Infinity]), /values\[1\] must be a finite number/);
});

test('readPattern: missing, truncated and malformed files give errors naming the file', async () => {
  const missing = path.join(dir, 'nope.json');
  await readPattern(missing).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, `pattern file ${missing}: no such file`));

  const good = path.join(dir, 'good.json');
  await writePattern(good, patternFromArray(1, 2, [1, 2]), { provenance });
  const truncated = path.join(dir, 'truncated.json');
  writeFileSync(truncated, readFileSync(good, 'utf8').slice(0, 40));
  await readPattern(truncated).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /truncated\.json: not valid JSON/));

  const cases: [Record<string, unknown>, RegExp][] = [
    [{ format: 'other' }, /"format" must be "headgrad-pattern"/],
    [{ values: [1, 2, 3] }, /values has 3 numbers, expected layers × heads = 1 × 2 = 2/],
    [{ values: [1, 'x'] }, /values\[1\] must be a finite number/],
    [{ provenance: { ...provenance } }, /provenance\.createdAt must be a string/],
    [{ version: 2 }, /unsupported version 2/],
  ];
  const base = JSON.parse(readFileSync(good, 'utf8'));
  for (const [patch, re] of cases) {
    const f = path.join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ ...base, ...patch }));
    await readPattern(f).then(() => assert.unreachable(), (e: Error) => {
      assert.match(e.message, f);
      assert.match(e.message, re);
    });
  }
});

test.run();
