import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteTokenizer, Gpt2Tokenizer, tokenizerFor } from '../lib/tokenizer.js';

const texts = ['', 'abc', 'reverse: hello', 'héllo wörld', '日本語のテキスト', 'emoji 😀👍🏽 mix', 'tabs\tand\nnewlines', '<|eos|> is text'];

test('byte tokenizer: ids are the UTF-8 bytes and round-trip any string', () => {
  const t = new ByteTokenizer();
  for (const s of texts) {
    const ids = t.encode(s);
    assert.instance(ids, Int32Array);
    assert.equal(Array.from(ids), Array.from(Buffer.from(s, 'utf8')), s);
    assert.is(t.decode(ids), s);
  }
  assert.equal(Array.from(t.encode('é')), [0xc3, 0xa9]);
});

test('byte tokenizer: specials are named, never produced by text, and decoded by name', () => {
  const t = new ByteTokenizer();
  assert.is(t.vocabSize, 260);
  assert.equal({ ...t.special }, { '<|bos|>': 256, '<|eos|>': 257, '<|sep|>': 258, '<|pad|>': 259 });
  assert.equal([t.bos, t.eos, t.sep, t.pad], [256, 257, 258, 259]);
  assert.equal(Array.from(t.separator), [258]);
  assert.ok(t.encode('<|eos|><|sep|>').every((id) => id < 256));
  // a multi-byte character on both sides of a special survives
  const ids = [...t.encode('ü'), t.sep, ...t.encode('日'), t.eos];
  assert.is(t.decode(ids), 'ü<|sep|>日<|eos|>');
});

test('byte tokenizer: broken UTF-8 decodes to U+FFFD, bad ids throw naming the index', () => {
  const t = new ByteTokenizer();
  const bytes = t.encode('日');
  assert.is(t.decode([bytes[0]!, bytes[1]!, t.eos]), '\uFFFD<|eos|>');
  assert.throws(() => t.decode([97, 260]), /ids\[1\] = 260 is not a token id \(0\.\.259\)/);
  assert.throws(() => t.decode([-1]), /ids\[0\] = -1/);
});

test('GPT-2 tokenizer: known ids, round trips, eos, specials as text', () => {
  const t = new Gpt2Tokenizer();
  assert.is(t.vocabSize, 50257);
  assert.is(t.eos, 50256);
  assert.equal(Array.from(t.encode('Hello world')), [15496, 995]);
  assert.equal(Array.from(t.separator), [198]);
  for (const s of texts) assert.is(t.decode(t.encode(s)), s);
  assert.ok(!t.encode('<|endoftext|>').includes(50256), 'data text never becomes the special token');
  assert.is(t.decode([...t.encode('hi'), t.eos]), 'hi<|endoftext|>');
  assert.throws(() => t.decode([50257]), /ids\[0\] = 50257/);
});

test('tokenizerFor picks by vocabulary size', () => {
  assert.instance(tokenizerFor(50257), Gpt2Tokenizer);
  assert.instance(tokenizerFor({ vocabSize: 260 }), ByteTokenizer);
  assert.instance(tokenizerFor(512), ByteTokenizer);
  assert.throws(() => tokenizerFor(100), /vocabulary size 100 is too small/);
  assert.throws(() => tokenizerFor(0), /positive integer/);
});

test.run();
