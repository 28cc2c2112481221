// The safetensors container: 8-byte little-endian header length N, N bytes of JSON
// ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { string: string } }),
// then the raw little-endian tensor data; offsets are relative to the start of the data.
// No maintained pure-JS package reads it (npm `safetensors` is a 0.0.1 stub), so this file does.
// Every error names the file.
import { open, readFile } from 'node:fs/promises';
import { DTYPE_BYTES, decodeFloats, isDType, type DType } from './dtype.js';
import { writeFileAtomic } from '../util/atomic_file.js';
import { CheckpointError } from './errors.js';

export interface SafetensorsEntry {
  dtype: DType;
  shape: number[];
  bytes: Uint8Array; // a view into the file's buffer
}

export interface SafetensorsFile {
  file: string;
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsEntry>;
}

// a JSON header larger than this is not a model checkpoint but a corrupt length field
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  return parseSafetensors(file, await readFile(file));
}

export function parseSafetensors(file: string, buf: Uint8Array): SafetensorsFile {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  if (buf.length < 8) fail(`file is ${buf.length} bytes, too short for a safetensors header`);
  const headerLen = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > buf.length - 8 || headerLen > MAX_HEADER_BYTES) {
    fail(`header length ${headerLen} exceeds the file (${buf.length} bytes) or the ${MAX_HEADER_BYTES}-byte limit: truncated or not a safetensors file`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen)));
  } catch (err) {
    fail(`header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const data = buf.subarray(8 + headerLen);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsEntry>();
  const spans: [number, number, string][] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      Object.assign(metadata, parseMetadata(value, fail));
      continue;
    }
    const { dtype, shape, begin, end } = parseEntry(name, value, data.length, fail);
    tensors.set(name, { dtype, shape, bytes: data.subarray(begin, end) });
    spans.push([begin, end, name]);
  }
  checkDisjoint(spans, fail);
  return { file, metadata, tensors };
}

// Empty tensors occupy no bytes, so they cannot overlap anything.
function checkDisjoint(spans: [number, number, string][], fail: (p: string) => never): void {
  const used = spans.filter(([b, e]) => e > b).sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < used.length; i++) {
    const [, prevEnd, prev] = used[i - 1]!;
    const [begin, , name] = used[i]!;
    if (begin < prevEnd) fail(`tensors ${prev} and ${name} overlap in the data section`);
  }
}

function parseMetadata(value: unknown, fail: (p: string) => never): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('__metadata__ is not an object');
  for (const [k, v] of Object.entries(value as object)) {
    if (typeof v !== 'string') fail(`__metadata__.${k} is ${typeof v}, expected a string`);
  }
  return value as Record<string, string>;
}

function parseEntry(name: string, value: unknown, dataLen: number, fail: (p: string) => never) {
  const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (v === null || typeof v !== 'object') fail(`tensor ${name}: header entry is not an object`);
  if (!isDType(v.dtype)) fail(`tensor ${name}: dtype ${JSON.stringify(v.dtype)} is not supported (F32, F16, BF16)`);
  const shape = v.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  const offs = v.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`tensor ${name}: data_offsets ${JSON.stringify(offs)} is not [begin, end]`);
  }
  const [begin, end] = offs as [number, number];
  if (begin > end || end > dataLen) {
    fail(`tensor ${name}: data_offsets [${begin}, ${end}] lie outside the data section (${dataLen} bytes): truncated file?`);
  }
  const dtype = v.dtype as DType;
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    fail(`tensor ${name}: ${end - begin} bytes of data, but shape ${JSON.stringify(shape)} of ${dtype} needs ${expected}`);
  }
  return { dtype, shape: shape as number[], begin, end };
}

/** A tensor located in a file by its header alone: bytes [start, start + byteLength) of the file. */
export interface SafetensorsLocation {
  file: string;
  name: string;
  dtype: DType;
  shape: number[];
  start: number;
  byteLength: number;
}

/**
 * Reads and checks only the header of a safetensors file (for streaming loads): every tensor's
 * dtype, shape and absolute byte range, each checked against the file's real size, so a
 * truncated file fails here, before any weights are read.
 */
export async function readSafetensorsHeader(file: string): Promise<{ metadata: Record<string, string>; tensors: Map<string, SafetensorsLocation> }> {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  const fh = await open(file, 'r').catch((e: NodeJS.ErrnoException) => fail(e.code === 'ENOENT' ? 'no such file' : e.message));
  try {
    const size = (await fh.stat()).size;
    if (size < 8) fail(`file is ${size} bytes, too short for a safetensors header`);
    const lenBuf = new Uint8Array(8);
    await fh.read(lenBuf, 0, 8, 0);
    const headerLen = Number(new DataView(lenBuf.buffer).getBigUint64(0, true));
    if (headerLen > size - 8 || headerLen > MAX_HEADER_BYTES) {
      fail(`header length ${headerLen} exceeds the file (${size} bytes) or the ${MAX_HEADER_BYTES}-byte limit: truncated or not a safetensors file`);
    }
    const head = new Uint8Array(headerLen);
    await fh.read(head, 0, headerLen, 8);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(head));
    } catch (err) {
      fail(`header is not valid JSON (${(err as Error).message})`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
    const dataStart = 8 + headerLen;
    const metadata: Record<string, string> = {};
    const tensors = new Map<string, SafetensorsLocation>();
    const spans: [number, number, string][] = [];
    for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        Object.assign(metadata, parseMetadata(value, fail));
        continue;
      }
      const { dtype, shape, begin, end } = parseEntry(name, value, size - dataStart, fail);
      tensors.set(name, { file, name, dtype, shape, start: dataStart + begin, byteLength: end - begin });
      spans.push([begin, end, name]);
    }
    checkDisjoint(spans, fail);
    return { metadata, tensors };
  } finally {
    await fh.close();
  }
}

/** The tensor's values as f32 (a copy). */
export function tensorFloats(entry: SafetensorsEntry): Float32Array {
  return decodeFloats(entry.bytes, entry.dtype);
}

/** The 8-byte length and JSON header of a safetensors file whose tensors are F32 (or BF16
 *  where a tensor says so), laid out in the given order; the JSON is padded with spaces so the
 *  data starts 8-byte aligned, as the reference writer does. */
export function f32SafetensorsHeader(tensors: { name: string; shape: number[]; dtype?: 'F32' | 'BF16' }[], metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const dtype = t.dtype ?? 'F32';
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (dtype === 'BF16' ? 2 : 4);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(head.length - 8), 0);
  head.write(json, 8, 'utf8');
  return head;
}

/** Writes tensors in the given order, atomically: F32 from a Float32Array, BF16 from the raw
 *  16-bit words in a Uint16Array. */
export async function writeSafetensors(
  file: string,
  tensors: { name: string; shape: number[]; data: Float32Array | Uint16Array }[],
  metadata: Record<string, string>,
): Promise<void> {
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new RangeError(`${file}: tensor ${t.name} has shape [${t.shape}] (${n} values) but ${t.data.length} values`);
  }
  const head = f32SafetensorsHeader(tensors.map((t) => ({ ...t, dtype: t.data instanceof Uint16Array ? 'BF16' as const : 'F32' as const })), metadata);
  function* chunks(): Generator<Uint8Array> {
    yield head;
    for (const t of tensors) yield new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  }
  await writeFileAtomic(file, chunks());
}
