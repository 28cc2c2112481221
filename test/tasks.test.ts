import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getTask, INSTRUCTION_DOC_BYTES, instructionCorpus, pretrainCorpus, TASKS } from '../lib/data/tasks.js';
import { FORMAT_OPS } from '../lib/reproduce/format-tasks.js';

const byKind = (k: string) => TASKS.filter((t) => t.kind === k);

// Plain reference implementations, written independently of the suite.
const reference: Record<string, (x: string) => string> = {
  copy: (x) => x,
  reverse: (x) => x.split('').reverse().join(''),
  sort: (x) => x.split('').sort().join(''),
  repeat: (x) => x.repeat(2),
  add: (x) => String(x.split('+').map(Number).reduce((a, b) => a + b)),
  count: (x) => { const [c, w] = x.split(' '); return String(w!.split(c!).length - 1); },
  lookup: (x) => { const [k, ...kv] = x.split(' '); return kv.find((p) => p.startsWith(k + '='))!.slice(2); },
  map: (x) => x.replace(/[a-z]/g, (c) => String.fromCharCode(219 - c.charCodeAt(0))),
  parity: (x) => ((x.match(/1/g) ?? []).length % 2 ? 'odd' : 'even'),
};

test('the suite has >= 5 basic, >= 3 complex (2-3 basic constituents) and control tasks', () => {
  assert.ok(byKind('basic').length >= 5);
  assert.ok(byKind('complex').length >= 3);
  assert.ok(byKind('control').length >= 1);
  for (const t of byKind('complex')) {
    assert.ok(t.constituents.length >= 2 && t.constituents.length <= 3, t.name);
    for (const c of t.constituents) assert.is(getTask(c).kind, 'basic');
  }
  for (const t of [...byKind('basic'), ...byKind('control')]) assert.equal(t.constituents, []);
  assert.is(new Set(TASKS.map((t) => t.name)).size, TASKS.length);
  assert.throws(() => getTask('nope'), /unknown task "nope"; tasks: copy, /);
});

test('every task: deterministic by seed, short, answers checked by its own checker', () => {
  for (const t of TASKS) {
    const a = t.generate(200, 3);
    assert.equal(a, t.generate(200, 3), t.name);
    assert.not.equal(a, t.generate(200, 4), t.name);
    assert.ok(new Set(a.map((s) => s.prompt)).size > 20, `${t.name} varies`);
    for (const s of a) {
      assert.ok(s.prompt.startsWith(`${t.name}: `));
      assert.ok(Buffer.byteLength(s.prompt + s.response) <= 48, `${t.name}: ${s.prompt} -> ${s.response}`);
      assert.ok(t.check(s.prompt, s.response), `${t.name} accepts ${s.prompt} -> ${s.response}`);
      assert.not.ok(t.check(s.prompt, s.response + 'x'));
      assert.not.ok(t.check(s.prompt, s.response.slice(1)));
      assert.not.ok(t.check(s.prompt, ` ${s.response}`));
    }
  }
  assert.throws(() => getTask('sort').check('reverse: abc', 'cba'), /does not start with "sort: "/);
  assert.equal(getTask('copy').generate(0, 1), []);
});

test('basic and control tasks match independent references', () => {
  for (const t of [...byKind('basic'), ...byKind('control')]) {
    for (const s of t.generate(100, 9)) {
      assert.is(s.response, reference[t.name]!(s.prompt.slice(t.name.length + 2)), `${t.name}: ${s.prompt}`);
    }
  }
  assert.is(getTask('lookup').solve('b a=1 b=7 c=4'), '7');
  assert.is(getTask('count').solve('a banana'), '3');
  assert.is(getTask('map').solve('abz'), 'zya');
});

test('complex task outputs equal the composition of their constituents', () => {
  for (const t of byKind('complex')) {
    for (const s of t.generate(100, 5)) {
      const input = s.prompt.slice(t.name.length + 2);
      const composed = t.constituents.reduce((x, c) => getTask(c).solve(x), input);
      assert.is(s.response, composed, `${t.name}: ${s.prompt}`);
      assert.is(s.response, t.constituents.reduce((x, c) => reference[c]!(x), input));
    }
  }
  assert.is(getTask('add-reverse').solve('37+45'), '28');
  assert.is(getTask('sort-reverse-repeat').solve('bca'), 'cbacba');
});

test('pretraining corpus: basic skills in other surface forms plus filler, never SFT prompts', () => {
  const docs = pretrainCorpus(2000, 1);
  assert.equal(docs, pretrainCorpus(2000, 1));
  assert.not.equal(docs, pretrainCorpus(2000, 2));
  for (const d of docs) {
    assert.ok(Buffer.byteLength(d) <= 48, d);
    for (const t of TASKS) assert.not.ok(d.includes(`${t.name}: `), `${d} uses the SFT form of ${t.name}`);
  }
  // every basic skill is taught, with correct answers
  const has = (re: RegExp) => docs.filter((d) => re.test(d));
  for (const d of has(/^[a-z]+ backwards is [a-z]+\.$/)) {
    const [x, , , y] = d.slice(0, -1).split(' ');
    assert.is(y, reference.reverse!(x!));
  }
  for (const d of has(/^\d+\+\d+=\d+$/)) {
    const [x, y] = d.split('=');
    assert.is(y, reference.add!(x!));
  }
  for (const re of [/ is just /, /backwards|\|>/, /in order|sorted/, / twice is /, /=\d+$| plus /, / has \d /, /^with /]) {
    assert.ok(has(re).length > 50, String(re));
  }
  const filler = has(/^(the|a|one|every|that) /).length;
  assert.ok(filler > 300 && filler < 700, `filler ${filler} of 2000`);
});

test('instruction corpus: skills and format operations named in instructions, never the SFT form, no complex or control task', () => {
  const docs = instructionCorpus(4000, 1, FORMAT_OPS);
  assert.equal(docs, instructionCorpus(4000, 1, FORMAT_OPS));
  assert.not.equal(docs, instructionCorpus(4000, 2, FORMAT_OPS));
  const ops = { ...Object.fromEntries(TASKS.filter((t) => t.kind === 'basic').map((t) => [t.name, (x: string) => reference[t.name]!(x)])), ...FORMAT_OPS };
  const named = new Map<string, number>();
  let instructionDocs = 0;
  let multiLine = 0;
  for (const d of docs) {
    assert.ok(Buffer.byteLength(d) <= INSTRUCTION_DOC_BYTES, d);
    for (const t of TASKS) assert.not.ok(d.includes(`${t.name}: `), `${d} uses the SFT form of ${t.name}`);
    for (const t of TASKS.filter((x) => x.kind === 'complex')) assert.not.ok(d.includes(t.name), `${d} names ${t.name}`);
    // each line read back: prefix, op word, join, input as the SFT prompt writes it, end, answer
    const lines = d.split('\n').map((l) => /^(?:Q: |\$ |>>> )?([a-z]+)(?: - |, | > | )(.+?)(?: -> | => | A: | = | \| |\. )(.+)$/.exec(l));
    if (lines.some((m) => !m || !(m[1]! in ops))) {
      assert.is(lines.length, 1, `${d}: a document of several lines is instructions only`);
      if (lines[0] && TASKS.some((t) => t.kind !== 'basic' && t.name === lines[0]![1])) assert.unreachable(`${d} asks for ${lines[0][1]}`);
      continue;
    }
    instructionDocs++;
    if (lines.length > 1) multiLine++;
    for (const [, op, input, answer] of lines as RegExpExecArray[]) {
      assert.is(answer, ops[op!]!(input!), d);
      named.set(op!, (named.get(op!) ?? 0) + 1);
    }
  }
  // every basic task and every format operation is named, about as often as the mix says
  for (const op of Object.keys(ops)) assert.ok((named.get(op) ?? 0) > 200, `${op}: ${named.get(op) ?? 0} lines`);
  assert.ok(instructionDocs > 2300 && instructionDocs < 2700, `instruction documents ${instructionDocs} of 4000 (5 in 8)`);
  assert.ok(multiLine > 1000, `documents of several lines: ${multiLine}`);
  const basicLines = TASKS.filter((t) => t.kind === 'basic').reduce((a, t) => a + (named.get(t.name) ?? 0), 0);
  const allLines = [...named.values()].reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(basicLines / allLines - 0.6) < 0.03, `basic skills on ${basicLines} of ${allLines} lines (3 in 5)`);
  const terse = docs.filter((d) => / backwards is |\|>| in order is |^sorted | twice is |^\d+\+\d+=\d+$| plus .* makes | has \d |^with | is just |^say /.test(d)).length;
  assert.ok(terse > 800 && terse < 1200, `terse forms ${terse} of 4000 (2 in 8)`);
  const filler = docs.filter((d) => /^(the|a|one|every|that) [a-z]+ [a-z]+ [a-z]+ (the|a|one|every|that) [a-z]+\.$/.test(d)).length;
  assert.ok(filler > 350 && filler < 650, `filler ${filler} of 4000 (1 in 8)`);
  assert.throws(() => instructionCorpus(1, 0, { reverse: (x) => x }), /ops\.reverse is a task of the suite/);
  assert.throws(() => instructionCorpus(-1, 0, FORMAT_OPS), /n must be a non-negative integer/);
  assert.throws(() => instructionCorpus(1, 0, {}), /ops is empty/);
});

test.run();
