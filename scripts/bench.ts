// `npm run bench`: runs every section in scripts/bench/*.ts (HEADGRAD_BENCH=regex keeps the
// matching file names), prints one table per section and writes everything as JSON to
// bench/results/bench-<timestamp>.json and bench/results/latest.json.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { backendInfo } from '../lib/index.js';
import { formatTable } from '../lib/bench/table.js';
import type { BenchModule, BenchSection } from './bench/types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = path.join(root, 'scripts', 'bench');

function printTable(s: BenchSection): void {
  console.log(`\n${formatTable(s)}`);
}

const filter = new RegExp(process.env.HEADGRAD_BENCH ?? '.');
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && f !== 'types.ts' && filter.test(f))
  .sort();
if (files.length === 0) {
  console.error(`bench: no section in scripts/bench matches HEADGRAD_BENCH=${process.env.HEADGRAD_BENCH}`);
  process.exit(1);
}

const info = backendInfo();
const sections: BenchSection[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(path.join(benchDir, f)).href)) as BenchModule;
  const section = await mod.run();
  printTable(section);
  sections.push(section);
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const report = {
  date: new Date().toISOString(),
  machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version },
  backend: info,
  sections,
};
const outDir = path.join(root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const json = JSON.stringify(report, null, 2);
writeFileSync(path.join(outDir, `bench-${stamp}.json`), json);
writeFileSync(path.join(outDir, 'latest.json'), json);
console.log(`\nwrote bench/results/bench-${stamp}.json (and latest.json)`);
