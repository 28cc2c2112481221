// What a base model answers in the SFT form before and after the reproduction's format stage
// (the default plan, seed 0, as lib/reproduce/measure-base.ts runs it), and how it completes a
// few instruction lines of the pretraining corpus: the diagnosis behind the instruction-corpus
// attempt of docs/reproduce-results.md. Per task: the base loss on the first 64 probe samples
// (nats per response token) and the greedy answer to the first test prompt.
//
//   npx tsx scripts/show-format-stage.ts --model FILE
import { parseArgs } from 'node:util';
import { readCheckpoint } from '../lib/checkpoint/index.js';
import { promptTokens } from '../lib/data/batch.js';
import { tokenizerForModel } from '../lib/model_tokenizer.js';
import { withModel, type Context } from '../lib/reproduce/context.js';
import { makePlan } from '../lib/reproduce/plan.js';
import { probe } from '../lib/reproduce/probe.js';
import { formatStage } from '../lib/reproduce/run.js';
import { syntheticSuite } from '../lib/reproduce/suite.js';

const { values } = parseArgs({ options: { model: { type: 'string' } } });
if (!values.model) throw new RangeError('--model: expected a model file');
const file = values.model;
const plan = makePlan('default', 0);
const { config, params } = await readCheckpoint(file);
const tokenizer = await tokenizerForModel(file, config);
const suite = syntheticSuite(plan);
const ctx: Context = { config, base: params, given: params, device: 'cpu', precision: 'f32', tokenizer, suite, plan, log: () => {} };
const LINES = ['reverse abcde -> ', 'Q: sort dbca A: ', 'add 12+34 -> ', 'first hello -> ', '$ count a abcab = '];
const text = (ids: Int32Array) => JSON.stringify(tokenizer.decode(ids.filter((x) => x < tokenizer.vocabSize)));

async function show(label: string, lines: readonly string[]): Promise<void> {
  console.log(label);
  await withModel(ctx, async (m) => {
    for (const t of suite.tasks.filter((x) => x.kind !== 'control')) {
      const loss = (await probe(m, t.probe.slice(0, 64), tokenizer)).loss;
      const s = t.test[0]!;
      const out = await m.generate(promptTokens(tokenizer, s.prompt), { maxNewTokens: 16, stopToken: tokenizer.eos });
      console.log(`  ${t.name} loss ${loss.toFixed(2)}: ${JSON.stringify(s.prompt)} -> ${text(out)} (answer ${JSON.stringify(s.response)})`);
    }
    // in both layouts of a pretraining document: <|sep|> text <|eos|> (make-model's phase 1, and
    // phase 2 before issue 23's second hypothesis) and text <|eos|> (phase 2 since then)
    for (const line of lines) {
      for (const [layout, start] of [['sep+text', promptTokens(tokenizer, '')], ['text', new Int32Array(0)]] as const) {
        const out = await m.generate(Int32Array.from([...start, ...tokenizer.encode(line)]), { maxNewTokens: 12, stopToken: tokenizer.eos });
        console.log(`  ${layout} ${JSON.stringify(line)} -> ${text(out)}`);
      }
    }
  });
}

await show('before the format stage', LINES);
const f = await formatStage(ctx);
console.log(`format stage: ${f?.steps} steps, final training loss ${f?.finalLoss.toFixed(3)}`);
await show('after the format stage', []);
