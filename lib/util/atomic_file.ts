// Atomic file replacement: write a temp file in the target's folder, fsync it, rename it over
// the target. A reader sees either the old file or the complete new one, never a torn write;
// on any failure the temp file is removed and the old file is untouched.
import { rmSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Temp files being written now: an interrupted process removes them (removePendingTempFiles). */
const pending = new Set<string>();

/** Removes the temp files of the atomic writes in progress (synchronously: for a signal handler, before exit). */
export function removePendingTempFiles(): void {
  for (const tmp of pending) rmSync(tmp, { force: true });
  pending.clear();
}

/** Writes the chunks (in order) to `file` atomically. The chunks may be produced lazily. */
export async function writeFileAtomic(file: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  // same folder as the target, so the rename never crosses a file system
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  pending.add(tmp);
  const fh = await open(tmp, 'wx').catch((e: unknown) => {
    pending.delete(tmp);
    throw e;
  });
  try {
    try {
      for await (const chunk of chunks) await fh.write(chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    pending.delete(tmp);
  }
  await syncDirectory(dir);
}

// Makes the rename itself durable. Some platforms (Windows) cannot open a folder; the file
// is complete either way, so that case is not an error.
async function syncDirectory(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort, see above
  } finally {
    await fh?.close();
  }
}

/** Writes a string (UTF-8) to `file` atomically; see writeFileAtomic. */
export async function writeTextAtomic(file: string, text: string): Promise<void> {
  await writeFileAtomic(file, [Buffer.from(text, 'utf8')]);
}
