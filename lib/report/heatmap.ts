// Heatmaps: a head pattern (layers × heads), a correlation matrix between tasks, and a labelled
// matrix of any shape (heads × SFT steps), whose cells need not be square.
import { escapeXml, formatNumber } from './format.js';
import { colourBar, divergingScale, r, sequentialScale, svgDocument, text, type ColourScale } from './svg.js';
import type { Pattern } from '../patterns/pattern.js';
import { HeadgradRangeError } from '../errors.js';

export interface HeatmapOptions {
  title: string;
  /** ΔAP and other signed patterns: blue-white-red centred at 0. Default: sequential over [min, max]. */
  diverging?: boolean;
  /** Axis titles; default { x: 'head', y: 'layer' }. */
  labels?: { x?: string; y?: string };
}

interface Grid {
  rows: number;
  cols: number;
  value(i: number, j: number): number;
  rowLabels: string[];
  colLabels: string[];
  scale: ColourScale;
  title: string;
  xTitle?: string;
  yTitle?: string;
  cellW: number;
  cellH: number;
  printValues: boolean; // write the number in each cell (small matrices)
  colLabelGap?: number; // px between the centres of labelled columns (default 12)
}

/** A layers × heads pattern: heads along x, layer 0 at the top, a colour bar on the right. */
export function heatmap(pattern: Pattern, opts: HeatmapOptions): string {
  const { layers, heads, values } = pattern;
  if (values.length !== layers * heads) throw new HeadgradRangeError(`heatmap: values has ${values.length} numbers, expected ${layers} × ${heads}`);
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  if (min > max) min = max = 0;
  const scale = opts.diverging ? divergingScale(Math.max(Math.abs(min), Math.abs(max))) : sequentialScale(min, max);
  return grid({
    rows: layers,
    cols: heads,
    value: (l, h) => values[l * heads + h]!,
    rowLabels: Array.from({ length: layers }, (_, i) => String(i)),
    colLabels: Array.from({ length: heads }, (_, i) => String(i)),
    scale,
    title: opts.title,
    xTitle: opts.labels?.x ?? 'head',
    yTitle: opts.labels?.y ?? 'layer',
    ...square(Math.max(6, Math.min(28, Math.floor(480 / Math.max(layers, heads))))),
    printValues: false,
  });
}

const square = (cell: number) => ({ cellW: cell, cellH: cell });

export interface MatrixOptions {
  title: string;
  rowLabels: string[];
  colLabels: string[];
  xLabel?: string;
  yLabel?: string;
  diverging?: boolean;
}

/**
 * A rows × cols matrix (row-major values) on a sequential (or diverging) scale, with labels; the
 * cells are sized to fit about 720 × 480 px (at least 2 × 3 px), so long runs stay readable.
 */
export function matrixHeatmap(rows: number, cols: number, values: ArrayLike<number>, opts: MatrixOptions): string {
  if (values.length !== rows * cols) throw new HeadgradRangeError(`matrixHeatmap: values has ${values.length} numbers, expected ${rows} × ${cols}`);
  if (opts.rowLabels.length !== rows || opts.colLabels.length !== cols) {
    throw new HeadgradRangeError(`matrixHeatmap: expected ${rows} row labels and ${cols} column labels, got ${opts.rowLabels.length} and ${opts.colLabels.length}`);
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) continue;
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  if (min > max) min = max = 0;
  return grid({
    rows,
    cols,
    value: (i, j) => values[i * cols + j]!,
    rowLabels: opts.rowLabels,
    colLabels: opts.colLabels,
    scale: opts.diverging ? divergingScale(Math.max(Math.abs(min), Math.abs(max))) : sequentialScale(min, max),
    title: opts.title,
    xTitle: opts.xLabel,
    yTitle: opts.yLabel,
    cellW: Math.max(2, Math.min(28, Math.floor(720 / cols))),
    cellH: Math.max(3, Math.min(28, Math.floor(480 / rows))),
    printValues: false,
    // upright labels (all of 3 characters at most) need their width; rotated ones 12 px
    colLabelGap: opts.colLabels.some((l) => l.length > 3) ? 12 : Math.max(12, 4 + 6.5 * Math.max(...opts.colLabels.map((l) => l.length))),
  });
}

/** A symmetric similarity matrix (e.g. Pearson between task patterns) on a fixed [-1, 1] diverging scale. */
export function correlationMatrix(matrix: number[][], labels: string[], opts: { title: string }): string {
  const n = labels.length;
  if (matrix.length !== n || matrix.some((row) => row.length !== n)) {
    throw new HeadgradRangeError(`correlationMatrix: expected a ${n} × ${n} matrix to match ${n} labels`);
  }
  return grid({
    rows: n,
    cols: n,
    value: (i, j) => matrix[i]![j]!,
    rowLabels: labels,
    colLabels: labels,
    scale: divergingScale(1),
    title: opts.title,
    ...square(Math.max(24, Math.min(56, Math.floor(480 / n)))),
    printValues: n <= 12,
  });
}

function grid(g: Grid): string {
  const longest = Math.max(...g.rowLabels.map((s) => s.length), ...g.colLabels.map((s) => s.length));
  const labelSpace = 8 + 6.5 * longest;
  const left = labelSpace + (g.yTitle ? 18 : 0);
  const top = 34;
  const w = g.cols * g.cellW;
  const h = g.rows * g.cellH;
  const colLabelSpace = g.colLabels.some((s) => s.length > 3) ? labelSpace : 18; // long labels are rotated
  // label every k-th row/column so labels never overlap
  const kRow = Math.max(1, Math.ceil(12 / g.cellH));
  const kCol = Math.max(1, Math.ceil((g.colLabelGap ?? 12) / g.cellW));

  let body = text(left, 20, g.title, 'font-size="14" font-weight="600"');
  for (let i = 0; i < g.rows; i++) {
    for (let j = 0; j < g.cols; j++) {
      const v = g.value(i, j);
      const x = left + j * g.cellW;
      const y = top + i * g.cellH;
      body += `<rect x="${r(x)}" y="${r(y)}" width="${g.cellW}" height="${g.cellH}" fill="${Number.isFinite(v) ? g.scale.colour(v) : '#ccc'}">`;
      body += `<title>${escapeXml(`${g.rowLabels[i]} / ${g.colLabels[j]}: ${formatNumber(v, 4)}`)}</title></rect>`;
      if (g.printValues) {
        const dark = Number.isFinite(v) && Math.abs(v) > 0.6 * Math.max(Math.abs(g.scale.min), Math.abs(g.scale.max));
        body += text(x + g.cellW / 2, y + g.cellH / 2 + 4, formatNumber(v, 2), `text-anchor="middle" fill="${dark ? '#fff' : '#222'}"`);
      }
    }
  }
  body += `<rect x="${left}" y="${top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`;
  for (let i = 0; i < g.rows; i += kRow) body += text(left - 4, top + (i + 0.5) * g.cellH + 4, g.rowLabels[i]!, 'text-anchor="end"');
  for (let j = 0; j < g.cols; j += kCol) {
    const x = left + (j + 0.5) * g.cellW;
    body +=
      colLabelSpace > 18
        ? text(x, top + h + 6, g.colLabels[j]!, `text-anchor="end" transform="rotate(-45 ${r(x)} ${r(top + h + 6)})"`)
        : text(x, top + h + 14, g.colLabels[j]!, 'text-anchor="middle"');
  }
  if (g.xTitle) body += text(left + w / 2, top + h + colLabelSpace + 12, g.xTitle, 'text-anchor="middle" font-size="12"');
  if (g.yTitle) body += text(14, top + h / 2, g.yTitle, `text-anchor="middle" font-size="12" transform="rotate(-90 14 ${r(top + h / 2)})"`);
  body += colourBar(g.scale, left + w + 16, top, 14, Math.max(h, 60));
  return svgDocument(left + w + 90, top + Math.max(h, 60) + colLabelSpace + (g.xTitle ? 20 : 4), g.title, body);
}
