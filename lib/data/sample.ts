import type { ChatMessage } from '../chat_template.js';
import { HeadgradTypeError } from '../errors.js';

export type { ChatMessage } from '../chat_template.js';

/** One SFT example: the model reads the prompt and is trained on the response. */
export interface Sample {
  prompt: string;
  response: string;
}

/** A conversation, rendered by the tokenizer's chat template; the loss covers the assistant turns only. */
export interface ChatSample {
  messages: ChatMessage[];
}

/**
 * A pretraining document: plain text, every token a target. Unlike a Sample with an empty
 * prompt it has no separator, so the separator keeps its one meaning, "the answer starts here"
 * (issue 23; the layout is in data/batch.ts).
 */
export interface TextSample {
  text: string;
}

/** What SFT, evaluation and activation patterns accept. */
export type TrainingSample = Sample | ChatSample | TextSample;

export function isChatSample(s: TrainingSample): s is ChatSample {
  return Array.isArray((s as ChatSample)?.messages);
}

export function isTextSample(s: TrainingSample): s is TextSample {
  return typeof s === 'object' && s !== null && 'text' in s && !('prompt' in s) && !('messages' in s);
}

/**
 * What a sample asks and the answer expected, for exact-match scoring: a prompt/response pair
 * as it is; a conversation asks everything before its last assistant message (as JSON) and
 * expects that message's content.
 */
export function questionAndAnswer(s: TrainingSample): { question: string; answer: string } {
  if (isTextSample(s)) throw new HeadgradTypeError('a {text} document has no question and answer to score: exact match needs {prompt, response} or {messages} samples');
  if (!isChatSample(s)) return { question: s.prompt, answer: s.response };
  const last = lastAssistant(s);
  return { question: JSON.stringify(s.messages.slice(0, last)), answer: s.messages[last]!.content };
}

/** Index of the last assistant message; -1 when there is none. */
export function lastAssistant(s: ChatSample): number {
  for (let i = s.messages.length - 1; i >= 0; i--) if (s.messages[i]!.role === 'assistant') return i;
  return -1;
}
