// Every file path and command named in README.md and docs/*.md exists (test/helpers/doc_check.ts),
// and the README stays short enough to read top to bottom.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildProgram } from '../lib/cli.js';
import { checkDoc, documentationFiles, type RepoView } from './helpers/doc_check.js';

const root = path.resolve(import.meta.dirname, '..');
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
const repo: RepoView = {
  root, files,
  scripts: (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts,
  program: buildProgram(),
};

test('README.md is at most 250 lines', () => {
  const lines = readFileSync(path.join(root, 'README.md'), 'utf8').split('\n').length - 1;
  assert.ok(lines <= 250, `README.md has ${lines} lines`);
});

for (const doc of documentationFiles(root)) {
  test(`${doc}: every path and command it names exists`, () => {
    const problems = checkDoc(doc, readFileSync(path.join(root, doc), 'utf8'), repo);
    assert.equal(problems, []);
  });
}

test("every name a document imports from 'headgrad' or 'headgrad/utils' is exported there", async () => {
  const entries: Record<string, Record<string, unknown>> = {
    headgrad: await import('../lib/index.js'),
    'headgrad/utils': await import('../lib/utils.js'),
  };
  for (const doc of documentationFiles(root)) {
    const text = readFileSync(path.join(root, doc), 'utf8');
    for (const m of text.matchAll(/import \{([^}]+)\} from '(headgrad(?:\/utils)?)'/g)) {
      for (const raw of m[1]!.split(',')) {
        const name = raw.trim();
        if (name === '' || name === '...' || name.startsWith('type ')) continue;
        assert.ok(name in entries[m[2]!]!, `${doc}: ${name} is not exported from '${m[2]}'`);
      }
    }
  }
});

test('the checker catches a missing path, script, command, option and link', () => {
  const bad = [
    'See [the guide](docs/nowhere.md) and `lib/no_such_file.ts`, `missing_helper.cpp`.',
    '```sh',
    'npm run no-such-script',
    'node --import tsx scripts/no-such.ts',
    'headgrad frobnicate --x',
    'npx headgrad sft --model m --no-such-flag 3 \\',
    '   --out x.safetensors',
    'HEADGRAD_BENCH=x npm run bench',
    '```',
  ].join('\n');
  const problems = checkDoc('README.md', bad, repo);
  for (const want of ['docs/nowhere.md', 'lib/no_such_file.ts', 'missing_helper.cpp', 'no-such-script', 'scripts/no-such.ts', 'frobnicate', '--no-such-flag']) {
    assert.ok(problems.some((p) => p.includes(want)), `nothing reported for ${want}: ${problems.join('; ')}`);
  }
  assert.equal(problems.length, 8, problems.join('\n'));
});

test.run();
