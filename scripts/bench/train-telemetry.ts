// What AP telemetry costs an SFT step (docs/telemetry.md): sft() steps with telemetry on and off,
// interleaved (runs of HEADGRAD_TELEMETRY_STEPS steps, alternating which arm goes first), the
// median step time of each arm over HEADGRAD_TELEMETRY_REPS runs each, and their difference.
// A step is timed between consecutive onStep calls, so it holds everything sft does per step:
// batching, forward, backward, AdamW and (on) the telemetry record; a run's first step is
// dropped (it also holds the option checks). The telemetry arithmetic alone (telemetryRecord on
// the shape's head scores, median of 200 calls) is printed beside it: the part of the
// difference that is not noise.
//   HEADGRAD_BENCH=train-telemetry npm run bench
//   HEADGRAD_TELEMETRY_SHAPES=tiny  a seconds-long check that the section runs
import { backendInfo, ByteTokenizer, GPT, sft, telemetryRecord, type Sample } from '../../lib/index.js';
import { Rng } from '../../lib/util/random.js';
import type { BenchSection, Json } from './types.js';

interface Shape { name: string; vocab: number; layers: number; heads: number; dim: number; batch: number; seqLen: number }
const SHAPES: Record<string, Shape[]> = {
  default: [
    { name: 'L4 H8 C256', vocab: 260, layers: 4, heads: 8, dim: 256, batch: 8, seqLen: 128 },
    { name: 'GPT-2 small', vocab: 50257, layers: 12, heads: 12, dim: 768, batch: 4, seqLen: 64 },
  ],
  tiny: [{ name: 'L2 H2 C32', vocab: 260, layers: 2, heads: 2, dim: 32, batch: 4, seqLen: 16 }],
};
const shapes = SHAPES[process.env.HEADGRAD_TELEMETRY_SHAPES ?? 'default'] ?? SHAPES.default!;
const REPS = Number(process.env.HEADGRAD_TELEMETRY_REPS ?? 5);
const STEPS = Number(process.env.HEADGRAD_TELEMETRY_STEPS ?? 6);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Samples whose token sequence (prompt · sep · response · eos, byte tokens) is exactly seqLen + 1 long.
function samples(s: Shape, n: number, rng: Rng): Sample[] {
  const letters = (k: number) => Array.from({ length: k }, () => String.fromCharCode(97 + rng.int(26))).join('');
  const response = Math.max(1, Math.floor(s.seqLen / 4));
  return Array.from({ length: n }, () => ({ prompt: letters(s.seqLen - response - 1), response: letters(response) }));
}

async function stepTimes(model: GPT, data: Sample[], s: Shape, on: boolean, seed: number): Promise<number[]> {
  const marks: number[] = [];
  await sft(model, data, {
    tokenizer: new ByteTokenizer(), steps: STEPS, batchSize: s.batch, lr: 1e-5, seed, progress: false,
    ...(on ? { telemetry: {} } : {}), onStep: () => marks.push(performance.now()),
  });
  return marks.slice(1).map((t, i) => t - marks[i]!);
}

export async function run(): Promise<BenchSection> {
  const rows: (string | number)[][] = [];
  const data: Json[] = [];
  const rng = new Rng(1);
  for (const s of shapes) {
    using model = await GPT.create({ vocabSize: s.vocab, maxSeqLen: s.seqLen, layers: s.layers, heads: s.heads, dim: s.dim, seed: 1, device: 'cpu' });
    const train = samples(s, 4 * s.batch, rng);
    await stepTimes(model, train, s, true, 0); // warm-up: activation planning, optimizer state, page faults
    const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
    for (let r = 0; r < REPS; r++) {
      for (const arm of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        times[arm].push(...(await stepTimes(model, train, s, arm === 'on', r + 1)));
      }
    }
    const headScores = Float32Array.from({ length: s.layers * s.batch * s.heads }, () => rng.next() - 0.5);
    const shares = new Float64Array(s.batch).fill(1 / s.batch);
    const math: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      telemetryRecord(i, 1, headScores, shares, s);
      math.push(performance.now() - t0);
    }
    const off = median(times.off);
    const on = median(times.on);
    rows.push([s.name, `${s.batch}x${s.seqLen}`, off.toFixed(1), on.toFixed(1), `${((100 * (on - off)) / off).toFixed(2)}%`, (1000 * median(math)).toFixed(1), times.on.length]);
    data.push({ shape: { ...s }, msPerStepOff: off, msPerStepOn: on, overhead: (on - off) / off, telemetryMathUs: 1000 * median(math), stepsOff: times.off, stepsOn: times.on });
  }
  return {
    title: `SFT step with AP telemetry on vs off, interleaved, CPU (${backendInfo().cpu.threads} threads; median of ${REPS} runs × ${STEPS - 1} steps per arm)`,
    columns: ['model', 'batch', 'off ms/step', 'on ms/step', 'on − off', 'telemetry math µs', 'steps per arm'],
    rows,
    data,
  };
}
