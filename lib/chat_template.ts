// Chat templates: the Jinja template a Hugging Face tokenizer ships (tokenizer_config.json
// `chat_template`, or chat_template.jinja / chat_template.json beside it), rendered with
// @huggingface/jinja the way transformers' apply_chat_template does: the variables are
// `messages`, `add_generation_prompt` and the special-token strings (bos_token, eos_token, ...);
// the library itself provides `raise_exception`. `strftime_now` is deliberately not provided: templates that use it for a
// "today" date (Llama 3.1+) then fall back to their fixed date, so the same data renders to the
// same tokens on every day and the data hash in a pattern's provenance stays meaningful.
import { Template } from '@huggingface/jinja';
import { HeadgradError, HeadgradTypeError } from './errors.js';

export interface ChatMessage {
  role: string;
  content: string;
}

export class ChatTemplate {
  readonly source: string;
  readonly #template: Template;
  readonly #specials: Readonly<Record<string, string>>;

  /** specials: the special-token strings the template may use, e.g. { bos_token: '<s>' }. */
  constructor(source: string, specials: Record<string, string>, where = 'chat_template') {
    if (typeof source !== 'string' || source.length === 0) throw new HeadgradTypeError(`${where}: expected a non-empty template string`);
    try {
      this.#template = new Template(source);
    } catch (e) {
      throw new HeadgradError('ERR_HEADGRAD_TOKENIZER', `${where}: the chat template does not parse: ${(e as Error).message}`);
    }
    this.source = source;
    this.#specials = { ...specials };
  }

  /** The conversation as text; with addGenerationPrompt, followed by the header that opens the assistant's turn. */
  render(messages: readonly ChatMessage[], addGenerationPrompt = false): string {
    try {
      return this.#template.render({
        ...this.#specials,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: addGenerationPrompt,
      });
    } catch (e) {
      // A template may refuse a conversation on purpose (raise_exception): Gemma 2's refuses a
      // system turn, others a conversation whose roles do not alternate user/assistant.
      const roles = messages.map((m) => m.role).join(', ');
      throw new HeadgradError('ERR_HEADGRAD_DATA', `the model's chat template refused this conversation (roles: ${roles}): ${(e as Error).message}` +
        (messages.some((m) => m.role === 'system') ? '; if it has no system role, put the system text at the start of the first user turn' : ''));
    }
  }
}
