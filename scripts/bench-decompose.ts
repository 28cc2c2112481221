// Benchmark of decompose(): wall time of one full call (fit + permutation test + leave-one-out)
// for pattern sizes of real models, OLS and NNLS, with and without an intercept.
//   npx tsx scripts/bench-decompose.ts [--permutations N]
// Prints a table and writes bench/results/decompose.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { decompose, type DecomposeMethod } from '../lib/patterns/decompose.js';
import type { Pattern } from '../lib/patterns/pattern.js';
import { Rng } from '../lib/util/random.js';

const at = process.argv.indexOf('--permutations');
const permutations = at > 0 ? Number(process.argv[at + 1]) : 1000;
const shapes: [string, number, number][] = [
  ['gpt2-small 12×12', 12, 12],
  ['llama-7b 32×32', 32, 32],
  ['llama3-70b 80×64', 80, 64],
];
const rng = new Rng(0);
const pattern = (layers: number, heads: number): Pattern => ({ layers, heads, values: Float64Array.from({ length: layers * heads }, () => rng.next()) });

const rows: { shape: string; heads: number; bases: number; method: DecomposeMethod; intercept: boolean; permutations: number; ms: number }[] = [];
for (const [shape, L, H] of shapes) {
  const bases = { math: pattern(L, H), code: pattern(L, H), text: pattern(L, H) };
  const target = pattern(L, H);
  for (const method of ['ols', 'nnls'] as const) {
    for (const intercept of [false, true]) {
      decompose(target, bases, { method, intercept, permutations: 10 }); // warm-up (JIT)
      const t0 = performance.now();
      decompose(target, bases, { method, intercept, permutations });
      rows.push({ shape, heads: L * H, bases: 3, method, intercept, permutations, ms: performance.now() - t0 });
    }
  }
}

console.log(`decompose, 3 bases, ${permutations} permutations (${cpus()[0]?.model}, node ${process.version})`);
console.log('shape               heads  method  intercept      ms');
for (const r of rows) {
  console.log(`${r.shape.padEnd(20)}${String(r.heads).padStart(5)}  ${r.method.padEnd(6)}  ${String(r.intercept).padEnd(9)}${r.ms.toFixed(1).padStart(8)}`);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/decompose.json', JSON.stringify({ cpu: cpus()[0]?.model, node: process.version, rows }, null, 2) + '\n');
console.log('wrote bench/results/decompose.json');
