// headgrad info: the version and the compute backends this build can use.
import type { Command } from 'commander';
import { VERSION } from '../version.js';
import { printResult } from './inputs.js';

export function register(program: Command): void {
  program
    .command('info')
    .description('show the version and which compute backends (CPU, CUDA) this build can use')
    .option('--json', 'print JSON instead of text')
    .action(async (opts: { json?: boolean }) => {
      // Imported here, not at the top, so that commands which never touch the engine
      // (decompose, report) run even where the native addon is not built.
      const { backendInfo } = await import('../backend.js');
      const info = backendInfo();
      const { cpu, cuda } = info;
      const gpus = cuda.devices.map((d) => `${d.name} (sm ${d.computeCapability}, ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB)`);
      printResult(opts.json ?? false, { version: VERSION, backend: info }, () => [
        `headgrad ${VERSION} (addon ${info.version})`,
        `cpu   ${cpu.simd}, ${cpu.threads} threads, BLAS ${cpu.blas ?? 'none'}`,
        `cuda  ${cuda.compiled ? 'compiled' : 'not compiled'}; ${cuda.available ? `available: ${gpus.join(', ')}` : `not available: ${cuda.reason ?? 'no usable GPU'}`}`,
      ]);
    });
}
