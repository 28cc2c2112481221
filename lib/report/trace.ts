// The report of an AP telemetry trace (headgrad sft --ap-trace; headgrad report --trace): the
// batch AP of every recorded step as a heads × steps heatmap (as measured, and divided by each
// step's mean so that where activation sits shows whatever the loss), Gini and CV against the
// step and against the batch loss, and the step at which the pattern settles by the rule in
// lib/telemetry/settle.ts, printed beside it.
import { settling, SETTLE_RULE, type Settling } from '../telemetry/settle.js';
import type { TelemetryRecord } from '../telemetry/record.js';
import type { FigureSpec, ReportSpec } from './spec.js';
import { HeadgradRangeError } from '../errors.js';

/** At most this many step columns in a heatmap; longer runs are averaged over consecutive steps. */
const MAX_COLUMNS = 120;

export interface TraceReportData {
  source: string;
  layers: number;
  heads: number;
  steps: number[];
  loss: number[];
  gini: number[];
  cv: number[];
  /** The settling rule on the batch AP as measured, and on each AP divided by its mean over heads. */
  settling: Settling;
  settlingScaleFree: Settling;
}

export function traceReport(records: readonly TelemetryRecord[], source: string): { spec: ReportSpec; data: TraceReportData } {
  if (records.length === 0) throw new HeadgradRangeError('traceReport: the trace has no records');
  const { layers, heads } = records[0]!;
  const n = records.length;
  const steps = records.map((r) => r.step);
  const loss = records.map((r) => r.loss);
  const gini = records.map((r) => r.gini);
  const cv = records.map((r) => r.cv);
  const settle = settling(records);
  const settleFree = settling(records.map((r) => ({ step: r.step, ap: r.ap.map((v) => v / mean(r.ap)) })));
  const first = records[0]!;
  const last = records[n - 1]!;

  // columns: consecutive records averaged into at most MAX_COLUMNS bins
  const bins = Math.min(n, MAX_COLUMNS);
  const binOf = (k: number) => Math.floor((k * bins) / n);
  const nh = layers * heads;
  const raw = new Float64Array(nh * bins);
  const shape = new Float64Array(nh * bins);
  const count = new Float64Array(bins);
  const colLabels = new Array<string>(bins);
  records.forEach((r, k) => {
    const b = binOf(k);
    if (count[b] === 0) colLabels[b] = String(r.step);
    count[b]!++;
    const mean = r.ap.reduce((a, v) => a + v, 0) / nh;
    for (let j = 0; j < nh; j++) {
      raw[j * bins + b] += r.ap[j]!;
      shape[j * bins + b] += mean > 0 ? r.ap[j]! / mean : 0;
    }
  });
  for (let j = 0; j < nh; j++) for (let b = 0; b < bins; b++) {
    raw[j * bins + b] /= count[b]!;
    shape[j * bins + b] /= count[b]!;
  }
  const rowLabels = Array.from({ length: nh }, (_, j) => `${Math.floor(j / heads)}.${j % heads}`);
  const binned = bins < n ? ` Each column averages ${n / bins < 2 ? '1-2' : `about ${Math.round(n / bins)}`} consecutive recorded steps (labelled by the first).` : '';
  const matrix = (title: string, values: Float64Array): FigureSpec => ({
    kind: 'matrix', title, rows: nh, cols: bins, values: [...values], rowLabels, colLabels, xLabel: 'SFT step', yLabel: 'head (layer.head)',
  });
  const line = (title: string, xLabel: string, yLabel: string, series: { name: string; x: number[]; y: number[] }[]): FigureSpec => ({ kind: 'line', title, xLabel, yLabel, series });

  const spec: ReportSpec = {
    title: `AP telemetry: ${source}`,
    subtitle: `${n} recorded steps (${first.step} to ${last.step}), ${layers} layers × ${heads} heads`,
    sections: [
      {
        heading: 'What this is',
        blocks: [
          {
            type: 'paragraph',
            text: 'Each recorded step\'s activation pattern (AP: the mean over the batch of |∂L(x_i)/∂ξ| per head, with L(x_i) the sample\'s own mean loss) is ' +
              'measured on that step\'s training batch at the weights before its update, from the head scores the training backward computes anyway: ' +
              'no extra pass (docs/telemetry.md). A batch holds few samples, so the pattern is noisier from step to step than a probe-set pattern. ' +
              'Step t is the batch trained on after t updates.',
          },
          {
            type: 'table',
            columns: ['quantity', 'first recorded step', 'last recorded step'],
            rows: [
              ['step', first.step, last.step],
              ['batch loss', first.loss, last.loss],
              ['Gini of the AP', first.gini, last.gini],
              ['CV of the AP', first.cv, last.cv],
              ['mean AP', mean(first.ap), mean(last.ap)],
            ],
          },
        ],
      },
      {
        heading: 'The pattern over the steps',
        blocks: [
          { type: 'figure', figure: matrix('Batch AP per head and step', raw), caption: `Mean |score| per head, as measured.${binned}` },
          {
            type: 'figure',
            figure: matrix('Batch AP divided by its mean over heads, per step', shape),
            caption: `Where activation sits: the AP scales with the loss, so each step's AP is divided by its own mean over heads first.${binned}`,
          },
        ],
      },
      {
        heading: 'Spread over heads',
        blocks: [
          { type: 'figure', figure: line('Gini and CV of the batch AP against the step', 'SFT step', 'Gini / CV', [{ name: 'Gini', x: steps, y: gini }, { name: 'CV', x: steps, y: cv }]) },
          {
            type: 'figure',
            figure: line('Gini and CV of the batch AP against the batch loss', 'training batch loss (nats per token)', 'Gini / CV', [
              { name: 'Gini', x: smooth(loss, settle.window), y: smooth(gini, settle.window) },
              { name: 'CV', x: smooth(loss, settle.window), y: smooth(cv, settle.window) },
            ]),
            caption: `Loss, Gini and CV each averaged over the w = ${settle.window} recorded steps around a step (as in the settling rule below), joined in step order.`,
          },
          { type: 'figure', figure: line('Training batch loss', 'SFT step', 'loss (nats per token)', [{ name: 'batch loss', x: steps, y: loss }]) },
        ],
      },
      {
        heading: 'When the pattern settles',
        blocks: [
          { type: 'paragraph', text: `Rule: ${SETTLE_RULE} Here w = ${settle.window}.` },
          {
            type: 'paragraph',
            text: 'The rule is applied twice: to the batch AP as measured, whose change is mostly its overall shrinking as the loss falls, and to the ' +
              'scale-free AP (each step\'s AP divided by its mean over heads), whose change is where activation moves between heads.',
          },
          {
            type: 'table',
            columns: ['AP', 'settles at step', 'share of the recorded span (%)'],
            rows: [['as measured', settle], ['scale-free', settleFree]].map(([name, x]) => {
              const at = (x as Settling).step;
              return [name as string, at ?? 'no change', at === null ? null : (100 * (at - first.step)) / Math.max(1, last.step - first.step)];
            }),
          },
          {
            type: 'figure',
            figure: line('Direction progress of the batch AP', 'SFT step', 'cos(Ā_t − Ā_first, Ā_last − Ā_first)', [
              { name: 'as measured', x: steps, y: settle.progress },
              { name: 'scale-free', x: steps, y: settleFree.progress },
              { name: `threshold ${settle.threshold}`, x: [first.step, last.step], y: [settle.threshold, settle.threshold] },
            ]),
            caption: `Settled at step ${settle.step ?? 'n/a'} (as measured) and ${settleFree.step ?? 'n/a'} (scale-free); w = ${settle.window}.`,
          },
        ],
      },
    ],
  };
  return { spec, data: { source, layers, heads, steps, loss, gini, cv, settling: settle, settlingScaleFree: settleFree } };
}

/** Centred moving mean over w values (fewer at the ends), the window of lib/telemetry/settle.ts. */
function smooth(xs: number[], w: number): number[] {
  const half = Math.floor(w / 2);
  return xs.map((_, k) => {
    const lo = Math.max(0, k - half);
    const hi = Math.min(xs.length - 1, k - half + w - 1);
    return mean(xs.slice(lo, hi + 1));
  });
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
}
