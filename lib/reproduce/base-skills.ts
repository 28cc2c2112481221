// Does a base model know the basic skills before SFT? Probed in the pretraining surface forms
// (what it was trained on: "abc backwards is " -> "cba.") and in the SFT prompt form it has never
// seen ("reverse: abc" -> "cba"). SFT should then be about activating known skills in a new
// format, not learning them from scratch (the paper's premise, docs/method.md). Byte-level suite models only.
import type { GPT } from '../model.js';
import type { Tokenizer } from '../tokenizer.js';
import { promptTokens } from '../data/batch.js';
import { PRETRAIN_FORMS, getTask } from '../data/tasks.js';
import { exactMatchAccuracy } from '../evaluate.js';
import { Rng } from '../util/random.js';

export interface SkillProbe {
  task: string;
  /** Exact-match accuracy of completing a pretraining-form statement after its answer starts. */
  pretrainForm: number;
  /** Exact-match accuracy on the SFT prompt form, before any SFT. */
  sftForm: number;
  samples: number;
}

/** n held-out inputs per basic skill (drawn with `seed`), each asked in both forms. */
export async function probeBaseSkills(model: GPT, tokenizer: Tokenizer, n: number, seed: number): Promise<SkillProbe[]> {
  const out: SkillProbe[] = [];
  for (const [name, forms] of Object.entries(PRETRAIN_FORMS)) {
    const task = getTask(name);
    const samples = task.generate(n, seed);
    const rng = new Rng(seed);
    let correct = 0;
    for (const s of samples) {
      const input = s.prompt.slice(name.length + 2);
      const statement = forms[rng.int(forms.length)]!(input, s.response);
      // every form ends with the answer (then maybe "."): split at its last occurrence
      const cut = statement.lastIndexOf(s.response);
      if (await completes(model, tokenizer, statement.slice(0, cut), statement.slice(cut))) correct++;
    }
    const sftForm = await exactMatchAccuracy(model, samples, { tokenizer, check: task.check });
    out.push({ task: name, pretrainForm: correct / n, sftForm, samples: n });
  }
  return out;
}

// A pretraining document reads <|sep|> text <|eos|> (an empty prompt, lib/commands/pretrain.ts).
async function completes(model: GPT, tokenizer: Tokenizer, prefix: string, rest: string): Promise<boolean> {
  const prompt = promptTokens(tokenizer, '');
  const full = Int32Array.from([...prompt, ...tokenizer.encode(prefix)]);
  const out = await model.generate(full, { maxNewTokens: tokenizer.encode(rest).length + 1, stopToken: tokenizer.eos });
  // an id past the tokenizer's vocabulary (padded embedding rows) is no text: not a completion
  return !out.some((id) => id >= tokenizer.vocabSize) && tokenizer.decode(out) === rest;
}
