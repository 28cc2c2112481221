#!/usr/bin/env node
// The seed sweep (npm run test:seeds): runs every randomised test over fresh seeds and prints each
// failing seed with the command that repeats it. `npm test` runs fixed seeds (test/helpers/seed.ts);
// this is where a bound that holds only for some seeds shows up, before it lands.
//   npm run test:seeds -- --count N [--filter REGEX] [--start S] [--per-process K] [--jobs J] [--expensive]
//     --count N        seeds per file (default 100); the seeds are S, S+1, ..., S+N−1
//     --start S        the first seed (default: a fresh random one, printed, so a sweep repeats)
//     --filter REGEX   only the files (or C++ tests) whose name matches, e.g. model-reference
//     --per-process K  seeds run in one node process (default 25); 1 runs each seed on its own
//     --jobs J         processes at once (default 1: the machine is shared)
//     --expensive      also the files that declare `// test:seeds: expensive` (left out otherwise,
//                      and named in the summary with the command that sweeps them)
// Randomised files are found, not listed: every test/*.test.ts that calls testSeed (a suite that
// draws only fixtures, with fixtureSeed, is left out: test/helpers/seed.ts says why),
// and every C++ test in native/test that calls seed_from_env (run as build/<name>, one process
// per seed, when the cmake build has it). The C++ tests outside them draw nothing at random.
// A TypeScript file runs once per seed without the C++ tests, several seeds per process
// (scripts/test-seeds-worker.mjs). Checks written with within() (test/helpers/compare.ts) record
// their error, and the summary gives the worst error of each over the sweep beside its bound.
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = path.resolve(root, process.env.HEADGRAD_BUILD_DIR || 'build');

function parseArgs(argv) {
  const o = { count: 100, start: undefined, filter: undefined, perProcess: 25, jobs: 1, expensive: false };
  const int = (name, v, min) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a}: missing value`);
      return argv[++i];
    };
    if (a === '--count') o.count = int(a, value(), 1);
    else if (a === '--start') o.start = int(a, value(), 0);
    else if (a === '--filter') o.filter = new RegExp(value());
    else if (a === '--per-process') o.perProcess = int(a, value(), 1);
    else if (a === '--jobs') o.jobs = int(a, value(), 1);
    else if (a === '--expensive') o.expensive = true;
    else throw new Error(`unknown argument ${a} (see the head of scripts/test-seeds.mjs)`);
  }
  if (o.start !== undefined && o.start + o.count > 2 ** 32) throw new Error('--start + --count: seeds must stay below 2^32');
  return o;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`test:seeds: ${err.message}`);
  process.exit(2);
}
const start = opts.start ?? randomInt(0, 2 ** 31);
const seeds = Array.from({ length: opts.count }, (_, i) => start + i);

// --- the randomised tests
const tsFiles = readdirSync(path.join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => ({ name: f, src: readFileSync(path.join(root, 'test', f), 'utf8') }))
  .filter((f) => /\btestSeed\s*\(/.test(f.src))
  .map((f) => ({ kind: 'ts', name: f.name, expensive: /^\/\/ test:seeds: expensive\b/m.test(f.src) }));
const cppTests = readdirSync(path.join(root, 'native', 'test'))
  .filter((f) => /^test_.*\.cpp$/.test(f) && /\bseed_from_env\s*\(/.test(readFileSync(path.join(root, 'native', 'test', f), 'utf8')))
  .map((f) => ({ kind: 'cpp', name: f.replace(/\.cpp$/, ''), expensive: false }));

const selected = [...tsFiles, ...cppTests].filter((t) => !opts.filter || opts.filter.test(t.name));
const leftOut = selected.filter((t) => t.expensive && !opts.expensive);
const missing = selected.filter((t) => t.kind === 'cpp' && !existsSync(path.join(buildDir, t.name)));
const toRun = selected.filter((t) => !leftOut.includes(t) && !missing.includes(t));

// The command that repeats one seed of one test: the file alone, or the C++ binary. npm test reads
// HEADGRAD_TEST_FILTER as a regex that file names must match before ".test.ts", so the file's stem
// is enough unless another test file's name contains it (llama and llama_cli), where a lookahead
// pins it.
const allTestFiles = readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.test.ts'));
function repeatCommand(t, seed) {
  if (t.kind === 'cpp') return `HEADGRAD_TEST_SEED=${seed} ${path.relative(root, buildDir) || '.'}/${t.name}`;
  const stem = t.name.replace(/\.test\.ts$/, '');
  const unique = allTestFiles.filter((f) => f.includes(stem)).length === 1 && /^[\w-]+$/.test(stem);
  const filter = unique ? stem : `'^${stem.replace(/[.+]/g, '\\$&')}(?=\\.test\\.ts$)'`;
  return `HEADGRAD_TEST_SEED=${seed} HEADGRAD_TEST_FILTER=${filter} npm test`;
}

const recordDir = mkdtempSync(path.join(os.tmpdir(), 'headgrad-seeds-'));
let recordCount = 0;

function runProcess(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
}

// results[name] = { ran, failed: [{ seed, why }], skipped }
const results = new Map(toRun.map((t) => [t.name, { ran: 0, failed: [], skipped: 0 }]));

// One unit of work: a TypeScript file on a chunk of seeds, or a C++ test on one seed. Ordered by
// seed first, so that a sweep stopped early has covered every test on its first seeds.
const units = [];
for (let i = 0; i < seeds.length; i += opts.perProcess) {
  for (const t of toRun) {
    const chunk = seeds.slice(i, i + opts.perProcess);
    if (t.kind === 'ts') units.push({ t, seeds: chunk });
    else for (const seed of chunk) units.push({ t, seeds: [seed] });
  }
}

// the first lines of a failure, without stack frames
const firstLines = (text) => text.split('\n').filter((l) => l.trim() && !/^\s+at /.test(l)).slice(0, 6).join('\n    ');

async function runUnit({ t, seeds: chunk }) {
  const r = results.get(t.name);
  if (t.kind === 'cpp') {
    const seed = chunk[0];
    const { code, signal, out } = await runProcess(path.join(buildDir, t.name), [], { HEADGRAD_TEST_SEED: String(seed) });
    if (code === 77) r.skipped++;
    else if (code === 0) r.ran++;
    else {
      r.ran++;
      r.failed.push({ seed, why: `exit ${code ?? signal}\n    ${firstLines(out.split('\n').slice(-12).join('\n'))}` });
    }
    return;
  }
  const record = path.join(recordDir, `${recordCount++}.jsonl`);
  const { code, signal, out } = await runProcess(process.execPath,
    ['--import', 'tsx', path.join(root, 'scripts', 'test-seeds-worker.mjs'), path.join('test', t.name), ...chunk.map(String)],
    { HEADGRAD_TEST_RECORD: record });
  // split the output at the worker's per-seed lines
  let from = 0;
  const done = new Set();
  for (const m of out.matchAll(/^@@seed (\d+) (\d+) (\d+)$/gm)) {
    const seed = Number(m[1]), failed = Number(m[2]), total = Number(m[3]);
    const text = out.slice(from, m.index);
    from = m.index + m[0].length;
    done.add(seed);
    if (total === 0 && failed === 0) { r.skipped++; continue; }
    r.ran++;
    if (failed > 0) {
      const fail = text.indexOf('FAIL');
      r.failed.push({ seed, why: firstLines(fail >= 0 ? text.slice(fail) : text.slice(-2000)) });
    }
  }
  // a worker that died (crash, abort) takes the seeds it had not finished with it
  const lost = chunk.filter((s) => !done.has(s));
  if (lost.length) {
    r.ran++;
    r.failed.push({ seed: lost[0], why: `the process ended (${code ?? signal}) during this seed; ${lost.length - 1} later seeds of its chunk did not run\n    ${firstLines(out.slice(from).slice(-3000))}` });
  }
}

const t0 = Date.now();
console.log(`test:seeds: seeds ${start}..${start + opts.count - 1} (${opts.count}) over ${toRun.length} randomised tests: ${toRun.map((t) => t.name).join(', ')}`);
let next = 0, finished = 0;
async function lane() {
  while (next < units.length) {
    const u = units[next++];
    const before = results.get(u.t.name).failed.length;
    await runUnit(u);
    finished++;
    const failed = results.get(u.t.name).failed.length - before;
    const where = `${u.t.name} seeds ${u.seeds[0]}..${u.seeds.at(-1)}: ${failed ? `${failed} FAILED` : 'ok'}`;
    const progress = `${finished}/${units.length} processes, ${Math.round((Date.now() - t0) / 1000)} s`;
    if (process.stdout.isTTY) process.stdout.write(`\r  ${progress}  ${where}\x1b[K${failed ? '\n' : ''}`);
    else console.log(`  ${progress}  ${where}`);
    // failures as they come, so that a long sweep shows them before its summary
    for (const f of results.get(u.t.name).failed.slice(before)) console.log(`    seed ${f.seed}: ${f.why}\n    repeat: ${repeatCommand(u.t, f.seed)}`);
  }
}
await Promise.all(Array.from({ length: Math.min(opts.jobs, units.length) }, lane));
if (process.stdout.isTTY) process.stdout.write('\n');

// --- the worst error of every within() check over the sweep
const worst = new Map();
for (const f of readdirSync(recordDir)) {
  for (const line of readFileSync(path.join(recordDir, f), 'utf8').split('\n')) {
    if (!line) continue;
    const x = JSON.parse(line);
    const e = typeof x.error === 'number' ? x.error : Infinity;
    const w = worst.get(x.label);
    if (!w) worst.set(x.label, { error: e, bound: x.bound, seed: x.seed, n: 1 });
    else {
      w.n++;
      if (e > w.error) Object.assign(w, { error: e, bound: x.bound, seed: x.seed });
    }
  }
}
rmSync(recordDir, { recursive: true, force: true });
if (worst.size) {
  console.log('\nworst error of each within() check (error / bound, checks made, seed of the worst):');
  const fmt = (x) => (Number.isFinite(x) ? x.toExponential(2) : String(x));
  for (const [label, w] of [...worst].sort((a, b) => b[1].error / b[1].bound - a[1].error / a[1].bound)) {
    console.log(`  ${(w.error / w.bound).toFixed(3).padStart(7)}  ${fmt(w.error)} / ${fmt(w.bound)}  n=${w.n}  seed ${w.seed}  ${label}`);
  }
}

// --- the summary
let failures = 0;
console.log(`\nseeds ${start}..${start + opts.count - 1}, ${Math.round((Date.now() - t0) / 1000)} s:`);
for (const t of toRun) {
  const r = results.get(t.name);
  failures += r.failed.length;
  const skip = r.skipped ? `, ${r.skipped} skipped (nothing ran: no GPU, or the file skips here)` : '';
  console.log(`  ${t.name}: ${r.ran} seeds ran, ${r.failed.length} failed${skip}`);
  for (const f of r.failed) console.log(`    seed ${f.seed}: ${f.why}\n    repeat: ${repeatCommand(t, f.seed)}`);
}
for (const t of missing) console.log(`  ${t.name}: not built (no ${path.relative(root, buildDir)}/${t.name}); not swept`);
for (const t of leftOut) {
  console.log(`  ${t.name}: declares itself expensive; not swept. Sweep it with: npm run test:seeds -- --count ${opts.count} --start ${start} --expensive --filter '^${t.name.replace(/[.+]/g, '\\$&')}$'`);
}
console.log(failures ? `${failures} failing seeds` : 'no failing seeds');
process.exit(failures ? 1 : 0);
