import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { backendInfo } from '../lib/index.js';

test('backendInfo reports the CPU and a CUDA status without throwing', () => {
  const info = backendInfo();
  assert.type(info.version, 'string');
  assert.ok(info.cpu.threads >= 1);
  assert.ok(['openblas', 'blocked'].includes(info.cpu.gemm), info.cpu.gemm);
  assert.ok(info.cpu.gemmReason.length > 0);
  if (info.cpu.blas === null) assert.is(info.cpu.gemm, 'blocked');
  assert.type(info.cuda.compiled, 'boolean');
  assert.type(info.cuda.available, 'boolean');
  assert.ok(Array.isArray(info.cuda.devices));
  if (!info.cuda.available) assert.type(info.cuda.reason, 'string');
});

// backendInfo() of a fresh process with extra environment variables (OpenBLAS reads its
// settings when it loads, so only a new process can change them).
function infoWith(env: Record<string, string>): ReturnType<typeof backendInfo> {
  const code = "import('./lib/index.ts').then((m) => process.stdout.write(JSON.stringify(m.backendInfo())))";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
    encoding: 'utf8', env: { ...process.env, HEADGRAD_GEMM: '', ...env },
  });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('an OpenBLAS core with narrower vectors than the built-in kernel is not used', () => {
  const info = backendInfo();
  if (info.cpu.blas === null) return;  // nothing to choose between
  const prescott = infoWith({ OPENBLAS_CORETYPE: 'Prescott' });
  assert.is(prescott.cpu.blasCore, 'Prescott');
  if (prescott.cpu.simd === 'sse2' || prescott.cpu.simd === 'scalar') return;  // the built-in kernel is no wider
  assert.is(prescott.cpu.gemm, 'blocked');
  assert.match(prescott.cpu.gemmReason, /Prescott/);
  // An explicit choice wins over the detection.
  const forced = infoWith({ OPENBLAS_CORETYPE: 'Prescott', HEADGRAD_GEMM: 'blas' });
  assert.is(forced.cpu.gemm, 'openblas');
  assert.is(infoWith({ HEADGRAD_GEMM: 'blocked' }).cpu.gemm, 'blocked');
});

test('HEADGRAD_THREADS sizes the kernel pool', () => {
  assert.is(infoWith({ HEADGRAD_THREADS: '1' }).cpu.threads, 1);
});

test('backendInfo().cpu.bf16 names the bf16 gemm that runs and why; HEADGRAD_CPU_GEMM picks one for measuring', () => {
  const b = backendInfo().cpu.bf16;
  assert.ok(['own', 'onednn', 'none'].includes(b.impl), b.impl);
  assert.is(b.available, b.impl !== 'none');
  assert.ok(b.reason.length > 0);
  if (b.impl === 'own') assert.ok(['amx_bf16', 'avx512_bf16'].includes(b.isa!), b.isa!);
  // HEADGRAD_CPU_AMX=off keeps the own kernel on vdpbf16ps
  const vnni = infoWith({ HEADGRAD_CPU_GEMM: 'own', HEADGRAD_CPU_AMX: 'off' }).cpu.bf16;
  if (vnni.available) assert.is(vnni.isa, 'avx512_bf16');
  const off = infoWith({ HEADGRAD_CPU_BF16: 'off', HEADGRAD_CPU_GEMM: '' }).cpu.bf16;
  assert.is(off.impl, 'none');
  assert.match(off.reason, /HEADGRAD_CPU_BF16=off/);
  for (const want of ['own', 'onednn'] as const) {
    const forced = infoWith({ HEADGRAD_CPU_GEMM: want }).cpu.bf16;
    // Forced and able to run: that one, saying it was forced; unable: none, saying why.
    if (forced.available) assert.is(forced.impl, want);
    assert.match(forced.reason, new RegExp(`HEADGRAD_CPU_GEMM=${want}`));
  }
});

test.run();
