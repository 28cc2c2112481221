import { native, type BackendInfo } from './native.js';

export type Device = 'auto' | 'cpu' | 'cuda';

/** What this build was compiled with and what it can use now. A missing GPU is a normal answer. */
export function backendInfo(): BackendInfo {
  return native.backendInfo();
}

/** Resolves 'auto' to the device that will run; throws a clear error for 'cuda' without a usable GPU. */
export function resolveDevice(device: Device | undefined, what: string): 'cpu' | 'cuda' {
  const d = device ?? 'auto';
  if (d !== 'auto' && d !== 'cpu' && d !== 'cuda') {
    throw new TypeError(`${what}: device must be 'auto', 'cpu' or 'cuda', got ${JSON.stringify(device)}`);
  }
  const cuda = native.backendInfo().cuda;
  if (d === 'cpu') return 'cpu';
  if (d === 'cuda') {
    if (!cuda.available) throw new Error(`${what}: device 'cuda' requested but ${cuda.reason ?? 'no usable GPU'}`);
    return 'cuda';
  }
  return cuda.available ? 'cuda' : 'cpu';
}
