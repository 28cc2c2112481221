// Format tasks: what the base model is shown before the "before" AP is measured, so that it
// knows the SFT prompt template ("<task>: <input>" · separator · answer · eos) as an
// instruction-following LLM does, without seeing any task of the experiment. Each is a trivial
// string function of a lowercase word (a letter of it, its letters rearranged or dropped, or its
// length as a number, so that answers in digits are not new either), with answers of different
// lengths, so that the model learns that an answer is made from the input and where it stops.
// None is a basic, complex or control task, nor a composition of them (length is the nearest:
// count asks how often one letter occurs). The shipped model's continued pretraining names the
// same operations in instruction templates (FORMAT_OPS, instructionCorpus in lib/data/tasks.ts).
import { Rng } from '../util/random.js';
import type { Sample } from '../data/sample.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export const FORMAT_OPS: Readonly<Record<string, (input: string) => string>> = {
  first: (s) => s[0]!,
  last: (s) => s[s.length - 1]!,
  rotate: (s) => s.slice(1) + s[0],
  odd: (s) => [...s].filter((_, i) => i % 2 === 0).join(''),
  drop: (s) => s.slice(1),
  swap: (s) => s[1]! + s[0]! + s.slice(2),
  length: (s) => String(s.length),
};

export const FORMAT_TASKS = Object.keys(FORMAT_OPS);

/** n samples of every format task, interleaved (a seeded draw of words of 3-8 letters). */
export function formatSamples(n: number, seed: number): Sample[] {
  const r = new Rng(seed ^ 0x5f0f);
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    for (const [name, solve] of Object.entries(FORMAT_OPS)) {
      const len = 3 + r.int(6);
      let input = '';
      for (let j = 0; j < len; j++) input += LETTERS[r.int(LETTERS.length)];
      out.push({ prompt: `${name}: ${input}`, response: solve(input) });
    }
  }
  return out;
}
