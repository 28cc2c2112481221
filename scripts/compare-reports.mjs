#!/usr/bin/env node
// Compares the data of two `headgrad reproduce` report.json files number by number, leaving out
// what describes the run rather than its results (wall times, thread and worker counts):
//   node scripts/compare-reports.mjs A/report.json B/report.json
// prints how many numbers were compared, how many differ and the largest difference, and exits
// 1 when anything differs (a number, a string, a missing field).
import { readFileSync } from 'node:fs';

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: node scripts/compare-reports.mjs A/report.json B/report.json');
  process.exit(2);
}
const data = (file) => {
  const d = JSON.parse(readFileSync(file, 'utf8')).data;
  delete d.seconds;
  delete d.setup.threads;
  delete d.setup.workers;
  return d;
};
let numbers = 0;
let differ = 0;
let largest = 0;
const other = [];
function walk(x, y, where) {
  if (typeof x === 'number' && typeof y === 'number') {
    numbers++;
    if (!Object.is(x, y)) {
      differ++;
      largest = Math.max(largest, Math.abs(x - y));
    }
  } else if (x && y && typeof x === 'object' && typeof y === 'object' && Array.isArray(x) === Array.isArray(y)) {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[k], y[k], `${where}.${k}`);
  } else if (x !== y) {
    other.push(where);
  }
}
walk(data(a), data(b), 'data');
console.log(`${numbers} numbers compared, ${differ} differ (largest difference ${largest}); ${other.length} other fields differ${other.length ? `: ${other.slice(0, 5).join(', ')}` : ''}`);
process.exit(differ || other.length ? 1 : 0);
