// --device and --precision, the same on every command that runs a model, with the library's
// defaults: device 'auto' (resolveDevice in lib/backend.ts: CUDA when this build has it and a GPU
// is usable, else the CPU) and precision 'f32'.
import { InvalidArgumentError, Option } from 'commander';
import type { Device, Precision } from '../backend.js';

export interface EngineOptions {
  device: Device;
  precision: Precision;
}

const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda'];
const PRECISIONS: readonly Precision[] = ['f32', 'bf16'];

function oneOf<T extends string>(values: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}, got "${v}"`);
    return v as T;
  };
}

/** --device: add with `.addOption(deviceOption())` to every command that runs a model. */
export function deviceOption(): Option {
  return new Option('--device <device>', 'where the model runs: auto (CUDA when this build has it and a GPU is usable, else the CPU), cpu or cuda')
    .argParser(oneOf(DEVICES)).default('auto');
}

/** --precision: add with `.addOption(precisionOption())` beside deviceOption(). */
export function precisionOption(): Option {
  return new Option('--precision <p>', 'f32, or bf16 (bf16 operands, f32 accumulation; runs f32 where the backend has no bf16 path, and says so)')
    .argParser(oneOf(PRECISIONS)).default('f32');
}
