// The README's library example: the activation pattern of a Hugging Face model on chat data,
// before and after a short SFT. Run: node --import tsx examples/library.ts MODEL_DIR [DATA.jsonl]
import { GPT, activationPattern, deltaPattern, readSamples, sft, tokenizerForModel } from 'headgrad';

const [dir = 'tiny-llama', file = 'examples/chat.jsonl'] = process.argv.slice(2);
const model = await GPT.load(dir);                      // device 'auto', precision 'f32'
const tokenizer = await tokenizerForModel(dir);         // the folder's tokenizer.json and chat template
const data = await readSamples(file);                   // {"messages"} or {"prompt","response"} lines
const before = await activationPattern(model, data, { tokenizer });
await sft(model, data, { tokenizer, steps: 20, batchSize: 4, lr: 1e-4 });
const after = await activationPattern(model, data, { tokenizer });
console.log('ΔAP per head:', Array.from(deltaPattern(after, before).values, (x) => x.toExponential(2)).join(' '));
model.dispose();
