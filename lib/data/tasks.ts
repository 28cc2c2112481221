// A synthetic task suite for small byte-level models, generated from a seed.
//
// SFT format: prompt "<task>: <input>", response = the task's function of the input, e.g.
//   "reverse: abc" -> "cba"      "add: 37+45" -> "82"      "lookup: b a=1 b=7" -> "7"
// Kinds:
//   basic    copy, reverse, sort, repeat, add, count, lookup: one skill each
//   complex  compositions of 2-3 basic skills applied in order, e.g. sort-reverse(x) =
//            reverse(sort(x)); `constituents` names them
//   control  skills unrelated to any basic one: map (atbash, a<->z), parity (of a bit string)
// Prompt + response stay within 48 bytes, so a sample with <|sep|> and <|eos|> fits 50 tokens.
//
// pretrainCorpus() teaches the BASIC skills only, in other surface forms than the SFT prompt:
// terse ones ("abc backwards is cba.", "37+45=82") and sentences that name each skill with its
// task's own word, the way text on the web does ("the reverse of abc is cba.", "3 plus 4 is
// 7.", "the count of a in abcd is 1."), mixed with filler sentences and with the same kind of
// sentences about other string operations (WORDS: the first letter, the length, ...). So the
// base model knows the skills and the words for them before SFT, as the paper assumes of a
// pretrained LLM, but has never seen the "<task>: <input>" prompt; complex and control tasks
// are never in it.
import { Rng } from '../util/random.js';
import type { Sample } from './sample.js';

export type TaskKind = 'basic' | 'complex' | 'control';

export interface Task {
  readonly name: string;
  readonly kind: TaskKind;
  readonly constituents: readonly string[]; // basic tasks in application order; [] unless complex
  /** The task's function on an input (the part of the prompt after "<name>: "). */
  solve(input: string): string;
  prompt(input: string): string;
  generate(n: number, seed: number): Sample[];
  /** Exact match of output against the answer to prompt (a prompt of this task). */
  check(prompt: string, output: string): boolean;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

function letters(r: Rng, min: number, max: number, alphabet = LETTERS): string {
  const n = min + r.int(max - min + 1);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[r.int(alphabet.length)];
  return s;
}

// ---- the basic skills: input generators and functions ----

interface Skill {
  input(r: Rng): string;
  solve(input: string): string;
}

const reverse = (s: string) => [...s].reverse().join('');
const sort = (s: string) => [...s].sort().join('');

function parseAdd(input: string): [number, number] {
  const m = /^(\d+)\+(\d+)$/.exec(input);
  if (!m) throw new RangeError(`add: input "${input}" is not "<a>+<b>"`);
  return [Number(m[1]), Number(m[2])];
}

function parseLookup(input: string): { key: string; table: Map<string, string> } {
  const [key, ...pairs] = input.split(' ');
  const table = new Map(pairs.map((p) => p.split('=') as [string, string]));
  if (!key || !table.has(key)) throw new RangeError(`lookup: input "${input}" is not "<key> k=v ..." with the key in the table`);
  return { key, table };
}

const BASIC: Record<string, Skill> = {
  copy: { input: (r) => letters(r, 3, 8), solve: (s) => s },
  reverse: { input: (r) => letters(r, 3, 8), solve: reverse },
  sort: { input: (r) => letters(r, 3, 8), solve: sort },
  repeat: { input: (r) => letters(r, 2, 6), solve: (s) => s + s },
  add: {
    input: (r) => `${r.int(100)}+${r.int(100)}`,
    solve: (s) => {
      const [a, b] = parseAdd(s);
      return String(a + b);
    },
  },
  count: {
    // "<c> <word>": how many times c occurs in word (small alphabet so counts vary)
    input: (r) => `${letters(r, 1, 1, 'abcd')} ${letters(r, 4, 10, 'abcd')}`,
    solve: (s) => {
      const [c, word] = s.split(' ');
      return String([...(word ?? '')].filter((x) => x === c).length);
    },
  },
  lookup: {
    // "<key> k1=v1 k2=v2 ...": the value of key
    input: (r) => {
      const keys = r.sample(LETTERS.length, 2 + r.int(3)).map((i) => LETTERS[i]!);
      const pairs = keys.map((k) => `${k}=${r.int(10)}`);
      return `${keys[r.int(keys.length)]} ${pairs.join(' ')}`;
    },
    solve: (s) => {
      const { key, table } = parseLookup(s);
      return table.get(key)!;
    },
  },
};

// ---- the suite ----

const ATBASH = (s: string) => [...s].map((c) => LETTERS[25 - LETTERS.indexOf(c)] ?? c).join('');
const parity = (s: string) => ([...s].filter((c) => c === '1').length % 2 === 0 ? 'even' : 'odd');

function makeTask(name: string, kind: TaskKind, constituents: string[], skill: Skill): Task {
  const prefix = `${name}: `;
  const inputOf = (prompt: string): string => {
    if (!prompt.startsWith(prefix)) throw new RangeError(`task ${name}: prompt ${JSON.stringify(prompt)} does not start with "${prefix}"`);
    return prompt.slice(prefix.length);
  };
  return {
    name,
    kind,
    constituents,
    solve: skill.solve,
    prompt: (input) => prefix + input,
    generate(n, seed) {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name}.generate: n must be a non-negative integer, got ${n}`);
      // the task name is mixed into the seed so tasks drawn with one seed are independent
      const r = new Rng(seed ^ hashName(name));
      return Array.from({ length: n }, () => {
        const input = skill.input(r);
        return { prompt: prefix + input, response: skill.solve(input) };
      });
    },
    check: (prompt, output) => output === skill.solve(inputOf(prompt)),
  };
}

function composite(names: string[], input: (r: Rng) => string): Skill {
  const fns = names.map((n) => BASIC[n]!.solve);
  return { input, solve: (s) => fns.reduce((x, f) => f(x), s) };
}

export const TASKS: readonly Task[] = [
  ...Object.entries(BASIC).map(([name, skill]) => makeTask(name, 'basic', [], skill)),
  makeTask('sort-reverse', 'complex', ['sort', 'reverse'], composite(['sort', 'reverse'], BASIC.sort!.input)),
  makeTask('add-reverse', 'complex', ['add', 'reverse'], composite(['add', 'reverse'], BASIC.add!.input)),
  makeTask('reverse-repeat', 'complex', ['reverse', 'repeat'], composite(['reverse', 'repeat'], BASIC.repeat!.input)),
  makeTask('sort-reverse-repeat', 'complex', ['sort', 'reverse', 'repeat'], composite(['sort', 'reverse', 'repeat'], BASIC.repeat!.input)),
  makeTask('map', 'control', [], { input: (r) => letters(r, 3, 8), solve: ATBASH }),
  makeTask('parity', 'control', [], { input: (r) => letters(r, 3, 10, '01'), solve: parity }),
];

export function getTask(name: string): Task {
  const t = TASKS.find((x) => x.name === name);
  if (!t) throw new RangeError(`unknown task "${name}"; tasks: ${TASKS.map((x) => x.name).join(', ')}`);
  return t;
}

// ---- pretraining text ----

// Surface forms per basic skill, none of them the SFT "<task>: <input>" form. Each form ends
// with the answer (and maybe a full stop), which is how the base model's skills are probed. The
// first ones are terse; the rest name the skill with the task's own word, as web text does.
const words = (x: string) => x.split(' ');
export const PRETRAIN_FORMS: Readonly<Record<string, readonly ((x: string, y: string) => string)[]>> = {
  copy: [
    (x) => `say ${x}. ${x}.`, (x) => `${x} is just ${x}.`,
    (x) => `a copy of ${x} is ${x}.`, (x) => `copy ${x} and you get ${x}.`, (x) => `${x} copied is ${x}.`,
  ],
  reverse: [
    (x, y) => `${x} backwards is ${y}.`, (x, y) => `${x}|>${y}`,
    (x, y) => `the reverse of ${x} is ${y}.`, (x, y) => `reverse ${x} and you get ${y}.`, (x, y) => `${x} reversed is ${y}.`,
  ],
  sort: [
    (x, y) => `${x} in order is ${y}.`, (x, y) => `sorted ${x} gives ${y}.`,
    (x, y) => `${x} sorted is ${y}.`, (x, y) => `sort ${x} and you get ${y}.`, (x, y) => `the letters of ${x} sorted are ${y}.`,
  ],
  repeat: [
    (x, y) => `${x} twice is ${y}.`,
    (x, y) => `${x} repeated is ${y}.`, (x, y) => `repeat ${x} and you get ${y}.`, (x, y) => `${x} repeated twice is ${y}.`,
  ],
  add: [
    (x, y) => `${x}=${y}`, (x, y) => `${x.replace('+', ' plus ')} makes ${y}.`,
    (x, y) => `${x.replace('+', ' plus ')} is ${y}.`, (x, y) => `add ${x} and you get ${y}.`, (x, y) => `the sum of ${x.replace('+', ' and ')} is ${y}.`,
  ],
  count: [
    (x, y) => `${words(x)[1]} has ${y} ${words(x)[0]}'s.`,
    (x, y) => `the count of ${words(x)[0]} in ${words(x)[1]} is ${y}.`, (x, y) => `count the ${words(x)[0]}'s in ${words(x)[1]} and you get ${y}.`,
    (x, y) => `count ${words(x)[0]} in ${words(x)[1]} and you get ${y}.`,
  ],
  lookup: [
    (x, y) => `with ${words(x).slice(1).join(' ')}, ${words(x)[0]} is ${y}.`,
    (x, y) => `lookup ${words(x)[0]} in ${words(x).slice(1).join(' ')} and you get ${y}.`,
    (x, y) => `the lookup of ${words(x)[0]} in ${words(x).slice(1).join(' ')} is ${y}.`,
  ],
};

// Other string operations, named the same way: text that knows "reverse" knows "the first
// letter" too. These are the operations of the reproduction's format stage
// (lib/reproduce/format-tasks.ts), so that stage shows the prompt template on words the model
// knows, as instruction tuning does for an LLM; none is a task of the suite.
export const WORDS: Readonly<Record<string, { solve: (s: string) => string; forms: readonly ((x: string, y: string) => string)[] }>> = {
  first: { solve: (s) => s[0]!, forms: [(x, y) => `the first letter of ${x} is ${y}.`] },
  last: { solve: (s) => s[s.length - 1]!, forms: [(x, y) => `the last letter of ${x} is ${y}.`] },
  rotate: { solve: (s) => s.slice(1) + s[0], forms: [(x, y) => `rotate ${x} and you get ${y}.`, (x, y) => `${x} rotated is ${y}.`] },
  odd: { solve: (s) => [...s].filter((_, i) => i % 2 === 0).join(''), forms: [(x, y) => `the odd letters of ${x} are ${y}.`] },
  drop: { solve: (s) => s.slice(1), forms: [(x, y) => `drop a letter from ${x} to get ${y}.`] },
  swap: { solve: (s) => s[1]! + s[0]! + s.slice(2), forms: [(x, y) => `swap ${x} and you get ${y}.`, (x, y) => `${x} swapped is ${y}.`] },
  length: { solve: (s) => String(s.length), forms: [(x, y) => `the length of ${x} is ${y}.`] },
};

const FILLER = {
  det: ['the', 'a', 'one', 'every', 'that'],
  adj: ['small', 'red', 'quiet', 'old', 'quick', 'bright', 'tired', 'green'],
  noun: ['cat', 'dog', 'bird', 'river', 'house', 'tree', 'child', 'boat', 'song', 'road'],
  verb: ['sees', 'likes', 'finds', 'follows', 'hears', 'passes', 'keeps', 'wants'],
};

function fillerSentence(r: Rng): string {
  const pick = (xs: string[]) => xs[r.int(xs.length)]!;
  return `${pick(FILLER.det)} ${pick(FILLER.adj)} ${pick(FILLER.noun)} ${pick(FILLER.verb)} ${pick(FILLER.det)} ${pick(FILLER.noun)}.`;
}

/** n short documents: basic-skill statements (5 in 8), other operations (WORDS, 1 in 8) and filler sentences (1 in 4). */
export function pretrainCorpus(n: number, seed: number): string[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`pretrainCorpus: n must be a non-negative integer, got ${n}`);
  const r = new Rng(seed);
  const skills = Object.keys(PRETRAIN_FORMS);
  const ops = Object.values(WORDS);
  return Array.from({ length: n }, () => {
    const kind = r.int(8);
    if (kind < 2) return fillerSentence(r);
    if (kind === 2) {
      const op = ops[r.int(ops.length)]!;
      const input = letters(r, 3, 8);
      return op.forms[r.int(op.forms.length)]!(input, op.solve(input));
    }
    const name = skills[r.int(skills.length)]!;
    const forms = PRETRAIN_FORMS[name]!;
    const input = BASIC[name]!.input(r);
    return forms[r.int(forms.length)]!(input, BASIC[name]!.solve(input));
  });
}

// FNV-1a, 32-bit
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}
