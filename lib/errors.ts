// Every error headgrad throws carries a stable `code`, as Node's own errors do: match on
// `err.code`, not on the message. The codes and what each means are the table in docs/errors.md
// (test/errors.test.ts keeps the two in step and triggers each code). Bad arguments stay a
// TypeError or RangeError (HeadgradTypeError, HeadgradRangeError), so `instanceof TypeError`
// keeps working; everything else is a HeadgradError or a subclass with extra fields.

/** Every error code, in the order of docs/errors.md. */
export const ERROR_CODES = [
  'ERR_HEADGRAD_INVALID_ARG_TYPE',
  'ERR_HEADGRAD_OUT_OF_RANGE',
  'ERR_HEADGRAD_DEVICE_UNAVAILABLE',
  'ERR_HEADGRAD_MODEL_STATE',
  'ERR_HEADGRAD_MEMORY',
  'ERR_HEADGRAD_ENGINE',
  'ERR_HEADGRAD_PLATFORM',
  'ERR_HEADGRAD_CHECKPOINT',
  'ERR_HEADGRAD_TOKENIZER',
  'ERR_HEADGRAD_DATA',
  'ERR_HEADGRAD_PATTERN_FILE',
  'ERR_HEADGRAD_TRACE_FILE',
  'ERR_HEADGRAD_REPORT',
  'ERR_HEADGRAD_TASKS',
  'ERR_HEADGRAD_NO_CONVERGENCE',
  'ERR_HEADGRAD_SFT_DIVERGED',
  'ERR_HEADGRAD_SFT_RESUME',
  'ERR_HEADGRAD_ABORTED',
  'ERR_HEADGRAD_USAGE',
  'ERR_HEADGRAD_PEER',
] as const;

export type HeadgradErrorCode = (typeof ERROR_CODES)[number];

/** An error of headgrad's own; `code` says which kind (docs/errors.md). */
export class HeadgradError extends Error {
  readonly code: HeadgradErrorCode;
  constructor(code: HeadgradErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'HeadgradError';
  }
}

/** An argument of the wrong type or shape (code ERR_HEADGRAD_INVALID_ARG_TYPE). */
export class HeadgradTypeError extends TypeError {
  readonly code = 'ERR_HEADGRAD_INVALID_ARG_TYPE' as const;
  constructor(message: string) {
    super(message);
    this.name = 'HeadgradTypeError';
  }
}

/** An argument whose value is outside what is allowed (code ERR_HEADGRAD_OUT_OF_RANGE). */
export class HeadgradRangeError extends RangeError {
  readonly code = 'ERR_HEADGRAD_OUT_OF_RANGE' as const;
  constructor(message: string) {
    super(message);
    this.name = 'HeadgradRangeError';
  }
}

/** What every headgrad error has. */
export type AnyHeadgradError = HeadgradError | HeadgradTypeError | HeadgradRangeError;

/** True for any error headgrad threw (it has one of the codes). */
export function isHeadgradError(e: unknown): e is AnyHeadgradError {
  return e instanceof Error && (ERROR_CODES as readonly string[]).includes((e as { code?: unknown }).code as string);
}

/**
 * The addon's errors as headgrad's: its TypeError and RangeError (bad arguments, checked again in
 * C++) keep their kind, anything else (an allocation or a CUDA call that failed) is
 * ERR_HEADGRAD_ENGINE. Already-coded errors pass through.
 */
export function fromNative(e: unknown): unknown {
  if (!(e instanceof Error) || isHeadgradError(e)) return e;
  const out = e instanceof TypeError ? new HeadgradTypeError(e.message)
    : e instanceof RangeError ? new HeadgradRangeError(e.message)
      : new HeadgradError('ERR_HEADGRAD_ENGINE', e.message);
  return out;
}
