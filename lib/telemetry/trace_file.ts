// --ap-trace files: one JSON line per recorded step (TelemetryJson, lib/telemetry/record.ts).
// Written as the run goes, each line by one write of the whole line, so a run stopped at any
// point (Ctrl-C, a kill) leaves complete lines only. A resumed run rewrites the file: sft
// replays the records it restored through onTelemetry before the new ones, so the file equals
// an uninterrupted run's.
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { telemetryFromJson, telemetryJson, type TelemetryRecord } from './record.js';
import { HeadgradError } from '../errors.js';

export class TraceWriter {
  #fd: number | undefined;

  /**
   * `file` is created (or emptied) at the first write, not before: a run refused at its start
   * (a resume with other options) leaves an earlier trace as it was.
   */
  constructor(readonly file: string) {}

  write(r: TelemetryRecord): void {
    this.#fd ??= openSync(this.file, 'w');
    const line = Buffer.from(JSON.stringify(telemetryJson(r)) + '\n', 'utf8');
    for (let at = 0; at < line.length; ) at += writeSync(this.#fd, line, at, line.length - at);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Reads a trace; errors name the file and line. Steps must increase and every line must have the same layers × heads. */
export async function readTrace(file: string): Promise<TelemetryRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HeadgradError('ERR_HEADGRAD_TRACE_FILE', `trace ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new HeadgradError('ERR_HEADGRAD_TRACE_FILE', `trace ${file}: no records (an --ap-trace file has one JSON line per recorded step)`);
  const out: TelemetryRecord[] = [];
  lines.forEach((line, i) => {
    const where = `trace ${file}:${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new HeadgradError('ERR_HEADGRAD_TRACE_FILE', `${where}: not valid JSON (${(e as Error).message})`);
    }
    const r = telemetryFromJson(json, where);
    const prev = out[out.length - 1];
    if (prev && (r.layers !== prev.layers || r.heads !== prev.heads)) {
      throw new HeadgradError('ERR_HEADGRAD_TRACE_FILE', `${where}: ${r.layers} × ${r.heads} heads, but the lines before have ${prev.layers} × ${prev.heads}`);
    }
    if (prev && r.step <= prev.step) throw new HeadgradError('ERR_HEADGRAD_TRACE_FILE', `${where}: step ${r.step} does not follow step ${prev.step}`);
    out.push(r);
  });
  return out;
}
