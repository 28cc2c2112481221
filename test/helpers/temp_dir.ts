// Temporary folders for tests that write files, named headgrad-NAME-XXXXXX under the OS temp
// folder: one for a whole suite, or one for the length of a callback.
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'uvu';

const prefix = (name: string) => path.join(tmpdir(), `headgrad-${name}-`);

/** A fresh folder for the suite: made at once (so paths can be built at load time), removed after its last test. */
export function suiteTempDir(suite: Test, name: string): string {
  const dir = mkdtempSync(prefix(name));
  suite.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs fn with a fresh folder and removes the folder afterwards, also when fn throws. */
export async function withTempDir<T>(name: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(prefix(name));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
