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
// pretrainCorpus() teaches the BASIC skills only, in other surface forms ("abc backwards is
// cba.", "37+45=82"), mixed with filler sentences: the base model has the skills before SFT
// but has never seen the SFT prompt format. instructionCorpus() adds what a pretrained LLM has
// also read: the skills named by their task's word in instructions ("reverse abc -> cba", "Q: add,
// 3+4 A: 7"), never in the "<task>: <input>" prompt form; the shipped model
// continues its pretraining on it (scripts/make-model.ts, phase 2).
import { Rng } from '../util/random.js';
import type { Sample } from './sample.js';
import { HeadgradRangeError } from '../errors.js';

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
  if (!m) throw new HeadgradRangeError(`add: input "${input}" is not "<a>+<b>"`);
  return [Number(m[1]), Number(m[2])];
}

function parseLookup(input: string): { key: string; table: Map<string, string> } {
  const [key, ...pairs] = input.split(' ');
  const table = new Map(pairs.map((p) => p.split('=') as [string, string]));
  if (!key || !table.has(key)) throw new HeadgradRangeError(`lookup: input "${input}" is not "<key> k=v ..." with the key in the table`);
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
    if (!prompt.startsWith(prefix)) throw new HeadgradRangeError(`task ${name}: prompt ${JSON.stringify(prompt)} does not start with "${prefix}"`);
    return prompt.slice(prefix.length);
  };
  return {
    name,
    kind,
    constituents,
    solve: skill.solve,
    prompt: (input) => prefix + input,
    generate(n, seed) {
      if (!Number.isInteger(n) || n < 0) throw new HeadgradRangeError(`${name}.generate: n must be a non-negative integer, got ${n}`);
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
  if (!t) throw new HeadgradRangeError(`unknown task "${name}"; tasks: ${TASKS.map((x) => x.name).join(', ')}`);
  return t;
}

// ---- pretraining text ----

// Several surface forms per basic skill, none of them the SFT "<task>: <input>" form. Each form
// ends with the answer (and maybe a full stop), which is how the base model's skills are probed.
export const PRETRAIN_FORMS: Readonly<Record<string, readonly ((x: string, y: string) => string)[]>> = {
  copy: [(x) => `say ${x}. ${x}.`, (x) => `${x} is just ${x}.`],
  reverse: [(x, y) => `${x} backwards is ${y}.`, (x, y) => `${x}|>${y}`],
  sort: [(x, y) => `${x} in order is ${y}.`, (x, y) => `sorted ${x} gives ${y}.`],
  repeat: [(x, y) => `${x} twice is ${y}.`],
  add: [(x, y) => `${x}=${y}`, (x, y) => `${x.replace('+', ' plus ')} makes ${y}.`],
  count: [(x, y) => `${x.split(' ')[1]} has ${y} ${x.split(' ')[0]}'s.`],
  lookup: [(x, y) => `with ${x.split(' ').slice(1).join(' ')}, ${x.split(' ')[0]} is ${y}.`],
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

/** n short documents: basic-skill statements (3 in 4) and filler sentences (1 in 4). */
export function pretrainCorpus(n: number, seed: number): string[] {
  if (!Number.isInteger(n) || n < 0) throw new HeadgradRangeError(`pretrainCorpus: n must be a non-negative integer, got ${n}`);
  const r = new Rng(seed);
  const skills = Object.keys(PRETRAIN_FORMS);
  return Array.from({ length: n }, () => {
    if (r.int(4) === 0) return fillerSentence(r);
    const name = skills[r.int(skills.length)]!;
    const forms = PRETRAIN_FORMS[name]!;
    const input = BASIC[name]!.input(r);
    return forms[r.int(forms.length)]!(input, BASIC[name]!.solve(input));
  });
}

// ---- instruction text (issue 23: the second phase of the shipped model's pretraining) ----

// Instructions as they appear in web text, shell sessions, REPLs and Q&A pages: an optional line
// prefix, the operation's own word, what joins it to its input, the input exactly as the SFT
// prompt writes it, what ends the input, and the answer last ("reverse abc -> cba", "Q: add, 3+4
// A: 7", "$ sort - dbca | abcd"). The parts are drawn independently, so that no one of them is
// the instruction: a model that reads all of them may read "<op>: <input>" <|sep|> as one more
// way to ask. A document holds 1-3 such lines, as a page of examples does, so that the op word
// is read wherever it stands, not only at the document's start; the last answer ends the
// document (<|eos|> follows it as it follows an SFT response). None is the SFT form: the op word
// is never followed by ": ", and <|sep|> is a token that no text contains, so the format stage
// still has to teach both.
export const INSTRUCTION_PARTS = {
  prefix: ['', 'Q: ', '$ ', '>>> '],
  join: [' ', ' - ', ', ', ' > '],
  end: [' -> ', ' => ', ' A: ', ' = ', ' | ', '. '],
} as const;

/** An instruction document holds at most this many bytes (with <|sep|> and <|eos|>: 64 tokens). */
export const INSTRUCTION_DOC_BYTES = 62;

/**
 * n short documents for continued pretraining: filler (1 in 8), the basic skills in the terse
 * pretraining forms of pretrainCorpus (2 in 8, so the skills stay as strong), and instruction
 * documents (5 in 8) whose lines ask for a basic skill under its task's name (3 in 5) or for one
 * of the operations `ops` (2 in 5; a word of 3-8 letters in, the answer out: the format stage's
 * operations). Complex and control tasks are never in it.
 */
export function instructionCorpus(n: number, seed: number, ops: Readonly<Record<string, (word: string) => string>>): string[] {
  if (!Number.isInteger(n) || n < 0) throw new HeadgradRangeError(`instructionCorpus: n must be a non-negative integer, got ${n}`);
  const opNames = Object.keys(ops);
  if (opNames.length === 0) throw new HeadgradRangeError('instructionCorpus: ops is empty');
  for (const name of opNames) {
    if (TASKS.some((t) => t.name === name)) throw new HeadgradRangeError(`instructionCorpus: ops.${name} is a task of the suite`);
  }
  const r = new Rng(seed);
  const skills = Object.keys(PRETRAIN_FORMS);
  const pick = (xs: readonly string[]) => xs[r.int(xs.length)]!;
  const line = (): string => {
    let op: string, input: string, answer: string;
    if (r.int(5) < 2) {
      op = pick(opNames);
      input = letters(r, 3, 8);
      answer = ops[op]!(input);
    } else {
      op = pick(skills);
      input = BASIC[op]!.input(r);
      answer = BASIC[op]!.solve(input);
    }
    return `${pick(INSTRUCTION_PARTS.prefix)}${op}${pick(INSTRUCTION_PARTS.join)}${input}${pick(INSTRUCTION_PARTS.end)}${answer}`;
  };
  return Array.from({ length: n }, () => {
    const kind = r.int(8);
    if (kind === 0) return fillerSentence(r);
    if (kind <= 2) {
      const name = pick(skills);
      const input = BASIC[name]!.input(r);
      return PRETRAIN_FORMS[name]![r.int(PRETRAIN_FORMS[name]!.length)]!(input, BASIC[name]!.solve(input));
    }
    const lines = 1 + r.int(3);
    let doc = line();
    for (let i = 1; i < lines; i++) {
      const next = line();
      if (Buffer.byteLength(doc) + 1 + Buffer.byteLength(next) > INSTRUCTION_DOC_BYTES) break;
      doc += '\n' + next;
    }
    return doc;
  });
}

// FNV-1a, 32-bit
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}
