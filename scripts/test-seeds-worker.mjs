// One process of `npm run test:seeds` (scripts/test-seeds.mjs): runs one uvu test file once per
// seed given, in this process, importing the file afresh for each seed (a new module instance
// per import URL), so that node, tsx and the addon start once for many seeds. Run under
// `node --import tsx`. After each seed it prints the line `@@seed <seed> <failed> <total>` that
// the sweep reads; uvu's own output goes before it.
//   node --import tsx scripts/test-seeds-worker.mjs test/x.test.ts 11 12 13
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [file, ...seeds] = process.argv.slice(2);
globalThis.UVU_DEFER = 1; // uvu then queues suites instead of running them on import
const uvu = await import('uvu');
const url = pathToFileURL(path.resolve(file)).href;

for (const seed of seeds) {
  process.env.HEADGRAD_TEST_SEED = seed;
  globalThis.UVU_QUEUE = [[`${file} (HEADGRAD_TEST_SEED=${seed})`]];
  globalThis.UVU_INDEX = 0;
  let failed = 0, total = 0;
  const write = process.stdout.write.bind(process.stdout);
  try {
    await import(`${url}?seed=${seed}`);
    process.exitCode = 0;
    // uvu prints "Total: N" and "Passed: N"; read them back from its output
    let out = '';
    process.stdout.write = (chunk, ...rest) => { out += String(chunk); return write(chunk, ...rest); };
    try { await uvu.exec(); } finally { process.stdout.write = write; }
    const plain = out.replace(/\x1b\[\d+m/g, '');
    total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
    const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
    failed = total - passed + (process.exitCode ? (total === passed ? 1 : 0) : 0);
  } catch (err) {
    console.log(`  the file threw on import or run: ${err?.stack ?? err}`);
    failed = 1;
  }
  process.exitCode = 0;
  console.log(`@@seed ${seed} ${failed} ${total}`);
}
