// scripts/make-model.ts refuses bad arguments before any training, naming the argument: --from
// must be the file its record (the .json beside it) describes, --steps must leave room for the
// warmup. (Training itself is too slow for the suite: docs/reproduce.md gives the commands.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const scratch = path.join(root, 'models', 'base-scratch.safetensors');
const dir = mkdtempSync(path.join(tmpdir(), 'headgrad-make-model-'));

function makeModel(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'make-model.ts'), '--out', path.join(dir, 'out'), ...args], {
    cwd: root, encoding: 'utf8', timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr };
}

test('--from: a file without a record beside it is refused', () => {
  const from = path.join(dir, 'alone.safetensors');
  copyFileSync(scratch, from);
  const r = makeModel('--from', from);
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /--from: .*alone\.safetensors has no record .*alone\.json/);
});

test('--from: a file whose sha256 is not the recorded one is refused', () => {
  const from = path.join(dir, 'changed.safetensors');
  const bytes = readFileSync(scratch);
  bytes[bytes.length - 1] ^= 1;
  writeFileSync(from, bytes);
  copyFileSync(path.join(root, 'models', 'base-scratch.json'), path.join(dir, 'changed.json'));
  const r = makeModel('--from', from);
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /--from: .*changed\.safetensors has sha256 [0-9a-f]{64}, .*changed\.json records 332ce072/);
});

test('--from: a missing file is refused', () => {
  const r = makeModel('--from', path.join(dir, 'none.safetensors'));
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /--from: .*none\.safetensors does not exist/);
});

test('--steps: not an integer above the warmup', () => {
  for (const steps of ['100', '1.5', 'many']) {
    const r = makeModel('--steps', steps);
    assert.is.not(r.status, 0);
    assert.match(r.stderr, new RegExp(`--steps: expected an integer above 100, got ${steps}`));
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
