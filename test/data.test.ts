import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readJsonl, readSamples, writeJsonl } from '../lib/data/jsonl.js';
import { shuffled, trainTestSplit } from '../lib/data/split.js';
import { batches, makeBatch, promptTokens } from '../lib/data/batch.js';
import { ByteTokenizer, Gpt2Tokenizer } from '../lib/tokenizer.js';
import { Rng } from '../lib/util/random.js';
import { questionAndAnswer } from '../lib/data/sample.js';
import { rejects } from './helpers/rejects.js';
import { suiteTempDir } from './helpers/temp_dir.js';
import { testSeed } from './helpers/seed.js';

const SEED = testSeed('data');

const dir = suiteTempDir(test, 'data');

async function put(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

// ---- JSONL ----

test('JSONL: both line forms, blank lines skipped, write/read round trip', async () => {
  const file = await put('good.jsonl', [
    '{"prompt":"reverse: abc","response":"cba"}',
    '',
    '   ',
    '{"instruction":"Add","input":"2+2","output":"4"}',
    '{"instruction":"Say hi","input":"","output":"hi"}',
    '{"instruction":"Say bye","output":"bye","extra":1}',
  ].join('\r\n'));
  const samples = await readSamples(file);
  assert.equal(samples, [
    { prompt: 'reverse: abc', response: 'cba' },
    { prompt: 'Add\n2+2', response: '4' },
    { prompt: 'Say hi', response: 'hi' },
    { prompt: 'Say bye', response: 'bye' },
  ]);
  const out = path.join(dir, 'out.jsonl');
  const tricky = [...samples, { prompt: 'line\nbreak "quoted" 日本', response: '' }];
  await writeJsonl(out, tricky);
  assert.equal(await readSamples(out), tricky);
  assert.is((await readFile(out, 'utf8')).split('\n').length, tricky.length + 1);
});

test('JSONL: a bad line names file:line and the problem', async () => {
  const cases: [string, RegExp][] = [
    ['{"prompt":"a","response":"b"}\n{"prompt": "a",\n', /bad1\.jsonl:2: invalid JSON/],
    ['\n\n{"prompt":"a"}\n', /bad2\.jsonl:3: missing field "response"/],
    ['{"prompt":"a","response":7}\n', /bad3\.jsonl:1: field "response" must be a string, got number/],
    ['{"instruction":"a","input":["x"],"output":"b"}\n', /bad4\.jsonl:1: field "input" must be a string, got \["x"\]/],
    ['{"text":"a"}\n', /bad5\.jsonl:1: expected \{"prompt","response"\}, \{"instruction","input","output"\} or \{"messages"\}, got keys \[text\]/],
    ['[1,2]\n', /bad6\.jsonl:1: expected a JSON object, got an array/],
    ['{"prompt":"a","response":"b"}\nnull\n', /bad7\.jsonl:2: expected a JSON object, got null/],
  ];
  for (const [i, [text, pattern]] of cases.entries()) {
    await rejects(readSamples(await put(`bad${i + 1}.jsonl`, text)), pattern);
  }
});

test('JSONL: streaming yields the good lines before the bad one', async () => {
  const file = await put('stream.jsonl', '{"prompt":"a","response":"b"}\n{"prompt":"c","response":"d"}\n{oops\n');
  const seen: string[] = [];
  await rejects((async () => {
    for await (const s of readJsonl(file)) seen.push(s.prompt);
  })(), /stream\.jsonl:3: invalid JSON/);
  assert.equal(seen, ['a', 'c']);
  await rejects(readSamples(path.join(dir, 'nope.jsonl')), /ENOENT.*nope\.jsonl/);
});

// ---- split ----

test('split: deterministic by seed, a partition of the input, sizes as asked', () => {
  const items = Array.from({ length: 103 }, (_, i) => i);
  const a = trainTestSplit(items, { testFraction: 0.2, seed: 5 });
  const b = trainTestSplit(items, { testFraction: 0.2, seed: 5 });
  const c = trainTestSplit(items, { testFraction: 0.2, seed: 6 });
  assert.equal(a, b);
  assert.not.equal(a.test, c.test);
  assert.is(a.test.length, 21);
  assert.equal([...a.train, ...a.test].sort((x, y) => x - y), items);
  assert.equal(items, Array.from({ length: 103 }, (_, i) => i), 'input untouched');
  assert.equal(shuffled(items, 1), shuffled(items, 1));
  assert.is(trainTestSplit([1, 2], { testFraction: 0.01, seed: 1 }).test.length, 1);
  assert.is(trainTestSplit([1, 2, 3], { testFraction: 0, seed: 1 }).test.length, 0);
  assert.throws(() => trainTestSplit(items, { testFraction: 1.5, seed: 1 }), /testFraction: expected a number in \[0, 1\], got 1\.5/);
});

// ---- batches ----

function randomSamples(r: Rng, n: number) {
  const word = (max: number) => Array.from({ length: r.int(max + 1) }, () => String.fromCharCode(97 + r.int(26))).join('');
  return Array.from({ length: n }, () => ({ prompt: word(12), response: word(9) }));
}

// The reference: build each row directly from the documented format and compare every cell.
function checkBatch(samples: { prompt: string; response: string }[], tok: ByteTokenizer | Gpt2Tokenizer, maxSeqLen: number, weighting: 'batch' | 'sample') {
  const b = makeBatch(samples, tok, { maxSeqLen, weighting });
  assert.is(b.batch, samples.length);
  let total = 0;
  samples.forEach((s, i) => {
    let prompt = [...tok.encode(s.prompt)];
    const tail = [...tok.separator, ...tok.encode(s.response), tok.eos];
    const cut = Math.max(0, prompt.length + tail.length - 1 - maxSeqLen);
    prompt = prompt.slice(cut);
    const seq = [...prompt, ...tail];
    const R = tok.encode(s.response).length + 1;
    let rowSum = 0;
    for (let t = 0; t < b.seqLen; t++) {
      const k = i * b.seqLen + t;
      const inSeq = t < seq.length - 1;
      assert.is(b.tokens[k], inSeq ? seq[t] : tok.pad);
      assert.is(b.targets[k], inSeq ? seq[t + 1] : -1);
      const weighted = inSeq && t + 1 >= prompt.length + tok.separator.length;
      const w = weighting === 'batch' ? 1 / (R * samples.length) : 1 / R;
      assert.is(b.lossWeights[k], weighted ? Math.fround(w) : 0);
      rowSum += b.lossWeights[k]!;
    }
    assert.is(b.responseTokens[i], R);
    total += rowSum;
    if (weighting === 'sample') assert.ok(Math.abs(rowSum - 1) < 1e-6, `row ${i} sums to ${rowSum}`);
  });
  if (weighting === 'batch') assert.ok(Math.abs(total - 1) < 1e-6, `batch sums to ${total}`);
  return b;
}

test('batches: tokens, next-token targets and weights on exactly response + eos, on random samples', () => {
  const r = new Rng(SEED + 11);
  const byte = new ByteTokenizer();
  for (const [n, maxSeqLen] of [[1, 64], [3, 64], [7, 40], [5, 13]] as const) {
    for (const weighting of ['batch', 'sample'] as const) checkBatch(randomSamples(r, n), byte, maxSeqLen, weighting);
  }
  checkBatch([{ prompt: 'Hello there, how are you', response: ' Fine, thanks.' }, { prompt: 'x', response: '' }], new Gpt2Tokenizer(), 64, 'batch');
});

test('batches: padding to the longest row, truncation from the left, too-long responses are errors', () => {
  const tok = new ByteTokenizer();
  const b = makeBatch([{ prompt: 'ab', response: 'c' }, { prompt: 'abcdef', response: 'xyz' }], tok, { maxSeqLen: 64 });
  assert.is(b.seqLen, 6 + 1 + 3); // the longest input: prompt + sep + response (+eos is only a target)
  assert.equal(Array.from(b.tokens.subarray(0, 10)), [97, 98, 258, 99, 259, 259, 259, 259, 259, 259]);
  assert.equal(Array.from(b.targets.subarray(0, 10)), [98, 258, 99, 257, -1, -1, -1, -1, -1, -1]);
  assert.is(b.truncated, 0);

  const t = makeBatch([{ prompt: 'abcdefgh', response: 'xy' }], tok, { maxSeqLen: 5 });
  assert.is(t.truncated, 1);
  assert.equal(Array.from(t.tokens), [...tok.encode('gh'), 258, ...tok.encode('xy')]);
  assert.equal(Array.from(t.targets), [...tok.encode('h'), 258, ...tok.encode('xy'), 257]);
  // the response (with sep) exactly fills the row: the whole prompt goes
  assert.equal(Array.from(makeBatch([{ prompt: 'abc', response: 'xy' }], tok, { maxSeqLen: 3 }).tokens), [258, 120, 121]);
  assert.throws(() => makeBatch([{ prompt: 'a', response: 'ok' }, { prompt: 'a', response: 'wxyz' }], tok, { maxSeqLen: 4 }),
    /samples\[1\]: separator \+ response \+ eos need 5 input tokens, more than maxSeqLen 4/);
  assert.throws(() => makeBatch([], tok, { maxSeqLen: 4 }), /samples: expected at least one sample/);
  assert.throws(() => makeBatch([{ prompt: 'a' } as never], tok, { maxSeqLen: 4 }), /samples\[0\]: expected \{ prompt: string, response: string \}/);
  assert.throws(() => makeBatch([{ prompt: 'a', response: 'b' }], tok, { maxSeqLen: 0 }), /maxSeqLen: expected a positive integer, got 0/);
});

// A {text} document: prefix · text · eos, no separator anywhere, every token after the first a
// target (issue 23, phase 2 of make-model). Each row is rebuilt here from that description.
test('batches: a {text} document has no separator and weights every token after the first, beside prompt samples', () => {
  const r = new Rng(SEED + 21);
  const word = (min: number, max: number) => Array.from({ length: min + r.int(max - min + 1) }, () => String.fromCharCode(32 + r.int(95))).join('');
  for (const tok of [new ByteTokenizer(), new Gpt2Tokenizer()]) {
    for (const weighting of ['batch', 'sample'] as const) {
      for (let round = 0; round < 4; round++) {
        const texts = Array.from({ length: 1 + r.int(5) }, () => word(1, 30));
        const prompts = randomSamples(r, r.int(3));
        const samples = [...texts.map((text) => ({ text })), ...prompts];
        const b = makeBatch(samples, tok, { maxSeqLen: 64, weighting });
        let total = 0;
        texts.forEach((text, i) => {
          const seq = [...tok.encode(text), tok.eos];
          const R = seq.length - 1;
          assert.is(b.responseTokens[i], R);
          let rowSum = 0;
          for (let t = 0; t < b.seqLen; t++) {
            const k = i * b.seqLen + t;
            const inSeq = t < R;
            assert.is(b.tokens[k], inSeq ? seq[t] : tok.pad);
            assert.is(b.targets[k], inSeq ? seq[t + 1] : -1);
            const w = weighting === 'batch' ? 1 / (R * samples.length) : 1 / R;
            assert.is(b.lossWeights[k], inSeq ? Math.fround(w) : 0);
            rowSum += b.lossWeights[k]!;
          }
          total += rowSum;
        });
        const rows = (k: number) => Array.from(b.tokens.subarray(0, k * b.seqLen));
        if (tok instanceof ByteTokenizer) assert.not.ok(rows(texts.length).includes(tok.separator[0]!), 'a separator in a text row');
        // the prompt samples beside them keep their layout: their rows are checkBatch's (the
        // reference) cell for cell, up to the padding ('sample' weights do not depend on the batch)
        if (prompts.length > 0 && weighting === 'sample') {
          const alone = checkBatch(prompts, tok, 64, 'sample');
          const row = (a: Int32Array | Float32Array, seqLen: number, at: number) => Array.from(a.subarray(at * seqLen, at * seqLen + alone.seqLen));
          prompts.forEach((_, j) => {
            assert.equal(row(b.tokens, b.seqLen, texts.length + j), row(alone.tokens, alone.seqLen, j));
            assert.equal(row(b.targets, b.seqLen, texts.length + j), row(alone.targets, alone.seqLen, j));
            assert.equal(row(b.lossWeights, b.seqLen, texts.length + j), row(alone.lossWeights, alone.seqLen, j));
          });
        }
        if (weighting === 'batch' && prompts.length === 0) assert.ok(Math.abs(total - 1) < 1e-6, `batch sums to ${total}`);
      }
    }
  }
  const tok = new ByteTokenizer();
  const b = makeBatch([{ text: 'abc' }], tok, { maxSeqLen: 3 });
  assert.equal(Array.from(b.tokens), [97, 98, 99]);
  assert.equal(Array.from(b.targets), [98, 99, 257]);
  assert.is(b.truncated, 0);
});

test('batches: a bad {text} document is an error naming it, and a text never loses tokens to the context', async () => {
  const tok = new ByteTokenizer();
  assert.throws(() => makeBatch([{ text: 'ok' }, { text: '' }], tok, { maxSeqLen: 8 }), /samples\[1\]\.text: expected a non-empty document/);
  assert.throws(() => makeBatch([{ text: 5 } as never], tok, { maxSeqLen: 8 }), /samples\[0\]\.text: expected a string, got number/);
  assert.throws(() => makeBatch([{ text: 'abcd' }], tok, { maxSeqLen: 3 }), /samples\[0\]: text \+ eos need 4 input tokens, more than maxSeqLen 3/);
  assert.throws(() => questionAndAnswer({ text: 'abc' }), /a \{text\} document has no question and answer/);
  await rejects(writeJsonl(path.join(dir, 'text.jsonl'), [{ text: 'abc' }]), /writeJsonl: a \{text\} document cannot be written/);
});

test('batches() chunks in order and promptTokens ends with the separator', () => {
  const tok = new ByteTokenizer();
  const samples = randomSamples(new Rng(SEED + 2), 7);
  const sizes = [...batches(samples, 3, tok, { maxSeqLen: 64 })].map((b) => b.batch);
  assert.equal(sizes, [3, 3, 1]);
  assert.equal(Array.from(promptTokens(tok, 'hi')), [104, 105, 258]);
  assert.throws(() => [...batches(samples, 0, tok, { maxSeqLen: 64 })], /batchSize: expected a positive integer, got 0/);
});

test.run();
