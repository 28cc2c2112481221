// headgrad info: the version and the compute backends this build can use; with --model, the
// model's config and what it needs in memory for each precision and mode, beside what is available.
import type { Command } from 'commander';
import { VERSION } from '../version.js';
import { positiveInt, printResult, requireModel } from './inputs.js';

interface InfoOptions { json?: boolean; model?: string; batch: number; seqLen: number; topK: number }

export function register(program: Command): void {
  program
    .command('info')
    .description('show the version and the compute backends (CPU, CUDA); with --model, the memory a model needs per precision and mode')
    .option('--model <path>', 'a checkpoint file or Hugging Face model folder: print its config and memory estimates (weights are not read)')
    .option('--batch <n>', 'with --model: samples per forward for the activation estimate', positiveInt, 4)
    .option('--seq-len <n>', 'with --model: tokens per sample for the activation estimate', positiveInt, 128)
    .option('--top-k <k>', "with --model: heads trained in the 'heads' modes", positiveInt, 8)
    .option('--json', 'print JSON instead of text')
    .action(async (opts: InfoOptions) => {
      // Imported here, not at the top, so that commands which never touch the engine
      // (decompose, report) run even where the native addon is not built.
      const { backendInfo } = await import('../backend.js');
      if (opts.model !== undefined) return modelInfo(opts);
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

const MODES = ['frozen', 'heads', 'heads+mlp', 'full'] as const;
const PRECISIONS = ['f32', 'bf16'] as const;

async function modelInfo(opts: InfoOptions): Promise<void> {
  const file = opts.model!;
  await requireModel(file);
  const { readCheckpointConfig, parameterCount, resolveConfig } = await import('../checkpoint/index.js');
  const { estimateMemory, availableMemory, gb } = await import('../memory_plan.js');
  const config = await readCheckpointConfig(file);
  const r = resolveConfig(config);
  const workload = { batch: opts.batch, seqLen: Math.min(opts.seqLen, r.maxSeqLen), trainedHeads: opts.topK };
  const estimates = PRECISIONS.flatMap((precision) => MODES.map((mode) => estimateMemory(config, precision, { ...workload, mode })));
  const available = availableMemory();
  const fits = (total: number) => available === null || total <= available.bytes;
  const onlyBf16 = MODES.filter((mode) => {
    const at = (p: string) => estimates.find((e) => e.mode === mode && e.precision === p)!.total;
    return !fits(at('f32')) && fits(at('bf16'));
  });
  const result = { model: file, config, parameters: parameterCount(config), workload, available, estimates };
  printResult(opts.json ?? false, result, () => {
    const shape = `V ${r.vocabSize}, P ${r.maxSeqLen}, L ${r.layers}, H ${r.heads}, KV ${r.kvHeads}, C ${r.dim}, F ${r.ffnDim}, ` +
      `${r.norm}, ${r.positions}, ${r.mlp}, ${r.tiedEmbeddings ? 'tied' : 'untied'}`;
    const label = (m: string) => (m === 'heads' || m === 'heads+mlp' ? `${m} (k=${opts.topK})` : m);
    const width = Math.max(...MODES.map((m) => label(m).length));
    const lines = [
      `model       ${file}`,
      `config      ${shape}`,
      `parameters  ${parameterCount(config).toLocaleString('en-US')}`,
      `available   ${available ? `${gb(available.bytes)} (${available.source})` : 'unknown (no /proc/meminfo or cgroup limit)'}`,
      `memory      weights + training state + activations (batch ${workload.batch} × ${workload.seqLen} tokens) + runtime`,
      `  ${'mode'.padEnd(width)}  ${PRECISIONS.map((p) => p.padStart(16)).join('')}`,
    ];
    for (const mode of MODES) {
      const cells = PRECISIONS.map((p) => {
        const e = estimates.find((x) => x.mode === mode && x.precision === p)!;
        return `${gb(e.total)} ${fits(e.total) ? 'fits' : 'no  '}`.padStart(16);
      });
      lines.push(`  ${label(mode).padEnd(width)}  ${cells.join('')}`);
    }
    if (onlyBf16.length) lines.push(`only precision 'bf16' fits for ${onlyBf16.join(', ')}: pass --precision bf16`);
    return lines;
  });
}
