#!/usr/bin/env node
// Builds the native addon. Runs on `npm install`; needs no network.
//   cmake present  -> cmake-js (CPU + CUDA when nvcc is found, C++ tests)  -> build/Release/headgrad.node
//   cmake missing  -> node-gyp with the local Node headers (CPU only)      -> build/Release/headgrad.node
// Environment: HEADGRAD_CUDA=AUTO|ON|OFF, HEADGRAD_BUILD_DIR (default build),
//              HEADGRAD_BUILD_TOOL=cmake-js|node-gyp (force one), HEADGRAD_NATIVE_ARCH=ON|OFF,
//              HEADGRAD_CUDA_ARCHS (default "80;90a").
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outDir = process.env.HEADGRAD_BUILD_DIR || 'build';
const jobs = String(Math.max(1, os.cpus().length));

function has(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}
function run(cmd, args) {
  console.error(`[headgrad] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    console.error(`[headgrad] native build failed (${cmd} exited with ${r.status ?? r.signal}).`);
    process.exit(r.status || 1);
  }
}

// Whether a configured build folder's cache holds another value than one of defs (--CDNAME=value).
function staleCache(cacheFile, defs) {
  if (!existsSync(cacheFile)) return false;
  const cache = new Map();
  for (const line of readFileSync(cacheFile, 'utf8').split('\n')) {
    const m = /^([A-Za-z_0-9]+):[A-Z]+=(.*)$/.exec(line);
    if (m) cache.set(m[1], m[2]);
  }
  return defs.some((d) => {
    const [name, value] = d.replace(/^--CD/, '').split(/=(.*)/s);
    return cache.get(name) !== value;
  });
}

const tool = process.env.HEADGRAD_BUILD_TOOL || (has('cmake') ? 'cmake-js' : 'node-gyp');
if (tool === 'cmake-js') {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const defs = [
    `--CDHEADGRAD_CUDA=${process.env.HEADGRAD_CUDA || 'AUTO'}`,
    `--CDHEADGRAD_NATIVE_ARCH=${process.env.HEADGRAD_NATIVE_ARCH || 'ON'}`,
  ];
  if (process.env.HEADGRAD_CUDA_ARCHS) defs.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.HEADGRAD_CUDA_ARCHS}`);
  // `cmake-js compile` configures only a fresh folder: on one configured before, its -D values
  // were ignored (HEADGRAD_CUDA=OFF still compiled CUDA). Configure again when a value differs.
  if (staleCache(path.join(root, outDir, 'CMakeCache.txt'), defs)) run(process.execPath, [cmakeJs, 'configure', '-O', outDir, ...defs]);
  run(process.execPath, [cmakeJs, 'compile', '-O', outDir, '-p', jobs, ...defs]);
} else if (tool === 'node-gyp') {
  // node-gyp would download headers; point it at the ones that ship with this Node instead.
  const nodedir = process.env.npm_config_nodedir || path.resolve(path.dirname(process.execPath), '..');
  if (!existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) {
    console.error(`[headgrad] node-gyp needs Node's headers; none under ${nodedir}/include/node. ` +
      'Set npm_config_nodedir to a folder that has include/node, or install cmake.');
    process.exit(1);
  }
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
  run(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '-j', jobs]);
} else {
  console.error(`[headgrad] unknown HEADGRAD_BUILD_TOOL=${tool} (use cmake-js or node-gyp)`);
  process.exit(1);
}
