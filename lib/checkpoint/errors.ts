import path from 'node:path';
import { HeadgradError } from '../errors.js';

/** A checkpoint that cannot be read; the message starts with the file's name (code ERR_HEADGRAD_CHECKPOINT). */
export class CheckpointError extends HeadgradError {
  constructor(file: string, problem: string) {
    super('ERR_HEADGRAD_CHECKPOINT', `${path.basename(file)}: ${problem} (${file})`);
    this.name = 'CheckpointError';
  }
}
