// JSONL datasets, one sample per line, in either form:
//   {"prompt": "...", "response": "..."}
//   {"instruction": "...", "input": "...", "output": "..."}   (Alpaca; input optional)
//   {"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}, ...]}
//                                                             (chat; needs a chat template)
// An Alpaca line becomes prompt = instruction + ("\n" + input if input is non-empty),
// response = output. Blank lines are skipped; any other bad line stops the read with an error
// that starts with file:line and says what is wrong.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { writeFileAtomic } from '../util/atomic_file.js';
import { isChatSample, isTextSample, type Sample, type TrainingSample } from './sample.js';
import { checkMessages } from './chat.js';
import { HeadgradError, HeadgradTypeError } from '../errors.js';

/** Streams the samples of a JSONL file. */
export async function* readJsonl(file: string): AsyncGenerator<TrainingSample> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    yield parseSampleLine(line, `${file}:${n}`);
  }
}

export async function readSamples(file: string): Promise<TrainingSample[]> {
  const out: TrainingSample[] = [];
  for await (const s of readJsonl(file)) out.push(s);
  return out;
}

/** The samples of a file that must hold prompt/response pairs only (a {"messages"} line is refused). */
export async function readPromptSamples(file: string): Promise<Sample[]> {
  const all = await readSamples(file);
  const chat = all.findIndex(isChatSample);
  if (chat >= 0) throw new HeadgradError('ERR_HEADGRAD_DATA', `${file}: sample ${chat + 1} is a {"messages"} conversation; only {"prompt","response"} samples are read here`);
  return all as Sample[];
}

/** Writes {"prompt","response"} and {"messages"} lines atomically ({text} documents are never read from a file, so none is written). */
export async function writeJsonl(file: string, samples: Iterable<TrainingSample>): Promise<void> {
  function* lines(): Generator<Uint8Array> {
    for (const s of samples) {
      const o = isChatSample(s) ? { messages: s.messages.map(({ role, content }) => ({ role, content })) }
        : isTextSample(s) ? noTextLines() : { prompt: s.prompt, response: s.response };
      yield Buffer.from(JSON.stringify(o) + '\n');
    }
  }
  await writeFileAtomic(file, lines());
}

function noTextLines(): never {
  throw new HeadgradTypeError('writeJsonl: a {text} document cannot be written as a sample line (it is a pretraining document, built in code)');
}

/** `where` ("file:line") starts every error message. */
export function parseSampleLine(line: string, where: string): TrainingSample {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: invalid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: expected a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  const o = value as Record<string, unknown>;
  const str = (key: string, optional = false): string => {
    const v = o[key];
    if (v === undefined && optional) return '';
    if (v === undefined) throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: missing field "${key}"`);
    if (typeof v !== 'string') throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: field "${key}" must be a string, got ${typeof v === 'object' ? JSON.stringify(v) : typeof v}`);
    return v;
  };
  if ('messages' in o) {
    checkMessages(o.messages, where);
    return { messages: o.messages.map(({ role, content }) => ({ role, content })) };
  }
  if ('prompt' in o || 'response' in o) return { prompt: str('prompt'), response: str('response') };
  if ('instruction' in o || 'output' in o) {
    const input = str('input', true);
    return { prompt: str('instruction') + (input ? '\n' + input : ''), response: str('output') };
  }
  throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: expected {"prompt","response"}, {"instruction","input","output"} or {"messages"}, got keys [${Object.keys(o).join(', ')}]`);
}
