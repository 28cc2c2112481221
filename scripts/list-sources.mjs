// Prints the C++ sources that make up the CPU build, one per line, for binding.gyp
// (gyp cannot glob). CMakeLists.txt globs the same folders, so both builds agree.
import { readdirSync } from 'node:fs';
const dirs = ['native/core', 'native/cpu', 'native/addon'];
for (const d of dirs) {
  for (const f of readdirSync(d).sort()) if (f.endsWith('.cpp')) console.log(`${d}/${f}`);
}
