import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backendInfo } from '../lib/index.js';

test('backendInfo reports the CPU and a CUDA status without throwing', () => {
  const info = backendInfo();
  assert.type(info.version, 'string');
  assert.ok(info.cpu.threads >= 1);
  assert.type(info.cuda.compiled, 'boolean');
  assert.type(info.cuda.available, 'boolean');
  assert.ok(Array.isArray(info.cuda.devices));
  if (!info.cuda.available) assert.type(info.cuda.reason, 'string');
});

test.run();
