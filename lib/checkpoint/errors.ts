import path from 'node:path';

/** A checkpoint that cannot be read; the message starts with the file's name. */
export class CheckpointError extends Error {
  constructor(file: string, problem: string) {
    super(`${path.basename(file)}: ${problem} (${file})`);
    this.name = 'CheckpointError';
  }
}
