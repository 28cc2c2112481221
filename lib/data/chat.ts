// A conversation -> tokens and its loss mask (which tokens are assistant turns).
//
// The conversation is rendered once by the tokenizer's chat template. Each assistant turn is
// located in that text by rendering the conversation up to it: the text before the turn is the
// rendering of the earlier messages with the generation prompt (the header that opens an
// assistant turn), and the text through the turn is the rendering of the messages up to and
// including it. Both must be prefixes of the whole rendering, which holds for the templates of
// Llama 2/3, Mistral, Qwen2 and most others; where a template breaks that (it rewrites earlier
// turns, e.g. drops reasoning), the turn is found by searching for its content after the
// previous turn, followed by the eos token (after any whitespace) when the template puts one there.
//
// The text is then tokenized piece by piece, cut at the turn boundaries, so that each token
// belongs wholly to one side. That is how generation sees it too: the prompt up to the
// assistant header is tokenized alone and the model produces the turn's tokens after it.
// The loss covers the assistant content and whatever closes the turn (Llama 3's <|eot_id|>,
// Qwen2's <|im_end|> and newline), so the model learns to stop.
import type { Tokenizer } from '../tokenizer.js';
import type { ChatMessage } from '../chat_template.js';
import type { ChatSample } from './sample.js';
import { HeadgradError } from '../errors.js';

export interface EncodedSample {
  seq: Int32Array; // the whole token sequence
  weighted: Uint8Array; // [seq.length]: 1 where the token is a loss target
  keep: number; // leading tokens never cut (the tokenizer's prefix, e.g. BOS)
  cutLimit: number; // a too-long sample may lose tokens seq[keep, cutLimit) from the left
  what: string; // names the part that must fit, for the error when even that does not
}

/** Checks the message list of a conversation; `where` starts the error. */
export function checkMessages(messages: unknown, where: string): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: "messages" must be a non-empty array of {role, content}`);
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object') throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: messages[${i}] must be an object {role, content}`);
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string' || role === '') throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: messages[${i}].role must be a non-empty string, got ${JSON.stringify(role)}`);
    if (typeof content !== 'string') {
      throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: messages[${i}].content must be a string, got ${Array.isArray(content) ? 'a list (multimodal content is not supported)' : JSON.stringify(content)}`);
    }
  });
  if (!messages.some((m) => (m as ChatMessage).role === 'assistant')) {
    throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: no message has role "assistant": there is nothing to train on`);
  }
}

/** Character spans [start, end) of the assistant turns in `text`, the template's rendering of `messages`. */
export function assistantSpans(tok: Tokenizer, messages: readonly ChatMessage[], text: string): [number, number][] {
  const template = tok.chatTemplate!;
  const eosText = tok.decode([tok.eos]);
  const tryRender = (upTo: number, gen: boolean): string | undefined => {
    try {
      return template.render(messages.slice(0, upTo), gen);
    } catch {
      return undefined; // e.g. a template that refuses a conversation ending on a user turn
    }
  };
  const spans: [number, number][] = [];
  let from = 0;
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const before = tryRender(i, true);
    const through = tryRender(i + 1, false);
    if (before !== undefined && through !== undefined && text.startsWith(before) && text.startsWith(through) &&
      before.length >= from && through.length > before.length) {
      spans.push([before.length, through.length]);
      from = through.length;
      return;
    }
    const content = m.content.trim();
    const at = content === '' ? -1 : text.indexOf(content, from);
    if (at < 0) {
      throw new HeadgradError('ERR_HEADGRAD_DATA', `messages[${i}]: the chat template's rendering does not contain this assistant turn where expected, so its loss mask cannot be placed`);
    }
    let end = at + content.length;
    const gap = /^\s*/.exec(text.slice(end))![0].length;
    if (eosText !== '' && text.startsWith(eosText, end + gap)) end += gap + eosText.length;
    spans.push([at, end]);
    from = end;
  });
  return spans;
}

/** Tokens and loss mask of a conversation; needs tok.chatTemplate. */
export function encodeChat(tok: Tokenizer, s: ChatSample, where: string): EncodedSample {
  checkMessages(s.messages, where);
  if (!tok.chatTemplate) {
    throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: a {"messages": [...]} sample needs a chat template, and this tokenizer has none (tokenizer_config.json "chat_template", or chat_template.jinja)`);
  }
  let text: string;
  let spans: [number, number][];
  try {
    text = tok.chatTemplate.render(s.messages, false);
    spans = assistantSpans(tok, s.messages, text);
  } catch (e) {
    throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: ${(e as Error).message}`);
  }
  const parts: Int32Array[] = [];
  const flags: number[] = [];
  let at = 0;
  const piece = (begin: number, end: number, weighted: number) => {
    if (end <= begin) return;
    const ids = tok.encode(text.slice(begin, end));
    parts.push(ids);
    for (let k = 0; k < ids.length; k++) flags.push(weighted);
  };
  for (const [b, e] of spans) {
    piece(at, b, 0);
    piece(b, e, 1);
    at = e;
  }
  piece(at, text.length, 0);
  const seq = concat(...parts);
  const weighted = Uint8Array.from(flags);
  const first = weighted.indexOf(1);
  if (first < 0) throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: the assistant turns encode to no tokens: there is nothing to train on`);
  if (first === 0) throw new HeadgradError('ERR_HEADGRAD_DATA', `${where}: the conversation starts with an assistant token, which no position predicts; add a system or user turn before it`);
  const prefix = tok.prefix ?? new Int32Array(0);
  const keep = prefix.length < first && prefix.every((id, k) => seq[k] === id) ? prefix.length : 0;
  return { seq, weighted, keep, cutLimit: first - 1, what: 'the tokens from the first assistant turn on' };
}

/** The tokens that ask the model for the next assistant turn after `messages`. */
export function chatPromptTokens(tok: Tokenizer, messages: readonly ChatMessage[]): Int32Array {
  if (!tok.chatTemplate) throw new HeadgradError('ERR_HEADGRAD_DATA', 'a {"messages": [...]} sample needs a chat template, and this tokenizer has none');
  return tok.encode(tok.chatTemplate.render(messages, true));
}

export function concat(...parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
