// Measures a base model against the committed acceptance criteria (lib/reproduce/base-criteria.ts)
// and prints measured beside committed. Exit code 1 when a criterion fails.
//
//   npx tsx scripts/check-base.ts [--model models/base.safetensors] [--record models/base.json]
//
// --record merges the measurement into that JSON file as `acceptance` (the file must exist and
// record the model's sha256, as make-model's base.json does); make-model records it itself.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { backendInfo } from '../lib/backend.js';
import { acceptanceRecord, measureBase } from '../lib/reproduce/measure-base.js';
import { writeTextAtomic } from '../lib/util/atomic_file.js';

const { values } = parseArgs({ options: { model: { type: 'string', default: 'models/base.safetensors' }, record: { type: 'string' } } });
const model = values.model!;
const sha256 = createHash('sha256').update(await readFile(model)).digest('hex');
if (values.record) {
  const json = JSON.parse(await readFile(values.record, 'utf8'));
  if (json.sha256 !== sha256) throw new Error(`--record: ${values.record} records sha256 ${json.sha256}, ${model} has ${sha256}`);
}
const t0 = performance.now();
const record = acceptanceRecord(await measureBase(model));
const seconds = (performance.now() - t0) / 1000;

console.log(`${model} (sha256 ${sha256}), ${backendInfo().cpu.threads} threads, ${seconds.toFixed(1)} s`);
console.log(['criterion', 'committed', 'measured', 'holds'].join(' | '));
for (const r of record.results) console.log([r.criterion, r.bound, r.measured, r.holds ? 'yes' : 'NO'].join(' | '));
const m = record.measured;
console.log('base loss per task (nats/token): ' + Object.entries(m.loss).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', '));
console.log('exact match per basic task: ' + Object.entries(m.accuracy).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(', '));
console.log(`mean basic ${m.meanBasicLoss.toFixed(3)}, mean complex ${m.meanComplexLoss.toFixed(3)}: ${record.holds ? 'all criteria hold' : 'criteria FAIL'}`);

if (values.record) {
  const json = JSON.parse(await readFile(values.record, 'utf8'));
  json.acceptance = { ...record, threads: backendInfo().cpu.threads, command: `npx tsx scripts/check-base.ts --model ${model}` };
  await writeTextAtomic(values.record, JSON.stringify(json, null, 2) + '\n');
}
process.exitCode = record.holds ? 0 : 1;
