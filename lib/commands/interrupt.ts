// Ctrl-C (SIGINT) on the command line. By default every command stops at once with exit code
// 130 after removing the temp files of atomic writes in progress (lib/util/atomic_file.ts), so
// no output is left half-written. A command may take the first Ctrl-C over (sft, to finish the
// step and write a training checkpoint); a second Ctrl-C then stops at once as above.
import { removePendingTempFiles } from '../util/atomic_file.js';

let takeover: (() => void) | undefined;

function onSigint(): void {
  if (takeover) {
    const run = takeover;
    takeover = undefined;
    run();
    return;
  }
  removePendingTempFiles();
  process.exit(130);
}

/** Installs the handler (the CLI's main does, once). */
export function handleInterrupts(): void {
  if (!process.listeners('SIGINT').includes(onSigint)) process.on('SIGINT', onSigint);
}

/** The next Ctrl-C calls `run` instead of stopping; the returned function gives it back. */
export function onNextInterrupt(run: () => void): () => void {
  takeover = run;
  return () => {
    if (takeover === run) takeover = undefined;
  };
}
