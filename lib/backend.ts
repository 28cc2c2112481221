import { native, type BackendInfo } from './native.js';
import { HeadgradError, HeadgradTypeError } from './errors.js';

/** Where a model or an attention call runs. */
export type Device = 'auto' | 'cpu' | 'cuda';

/** The arithmetic of the GEMMs (and CUDA attention): 'f32' exact, 'bf16' bf16 operands with f32 accumulation. */
export type Precision = 'f32' | 'bf16';

/** What this build was compiled with and what it can use now. A missing GPU is a normal answer. */
export function backendInfo(): BackendInfo {
  return native.backendInfo();
}

/**
 * The one rule for 'auto' (the default everywhere: the library, every CLI command): CUDA when
 * this build has the CUDA backend and a GPU is usable, otherwise the CPU. 'cuda' without a
 * usable GPU throws ERR_HEADGRAD_DEVICE_UNAVAILABLE.
 */
export function resolveDevice(device: Device | undefined, what: string): 'cpu' | 'cuda' {
  const d = device ?? 'auto';
  if (d !== 'auto' && d !== 'cpu' && d !== 'cuda') {
    throw new HeadgradTypeError(`${what}: device must be 'auto', 'cpu' or 'cuda', got ${JSON.stringify(device)}`);
  }
  const cuda = native.backendInfo().cuda;
  if (d === 'cpu') return 'cpu';
  if (d === 'cuda') {
    if (!cuda.available) throw new HeadgradError('ERR_HEADGRAD_DEVICE_UNAVAILABLE', `${what}: device 'cuda' requested but ${cuda.reason ?? 'no usable GPU'}`);
    return 'cuda';
  }
  return cuda.available ? 'cuda' : 'cpu';
}
