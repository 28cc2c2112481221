// Line plots (metrics over SFT steps) and bar charts (decomposition coefficients).
import { formatNumber } from './format.js';
import { PALETTE, niceTicks, r, svgDocument, text, tickLabel } from './svg.js';
import { HeadgradRangeError } from '../errors.js';

export interface Series {
  name: string;
  x: number[];
  y: number[];
}

export interface Bar {
  label: string;
  value: number;
}

const WIDTH = 640;
const HEIGHT = 360;
const M = { left: 64, right: 20, top: 34, bottom: 48 };

interface Axes {
  sx(v: number): number;
  sy(v: number): number;
  svg: string;
}

// Plot area, y ticks and grid lines, axis titles; x ticks only when the x axis is numeric.
function axes(title: string, yRange: [number, number], xRange: [number, number] | null, xLabel: string, yLabel: string): Axes {
  const pw = WIDTH - M.left - M.right;
  const ph = HEIGHT - M.top - M.bottom;
  const yt = niceTicks(yRange[0], yRange[1]);
  const y0 = Math.min(yRange[0], yt[0]!);
  const y1 = Math.max(yRange[1], yt[yt.length - 1]!);
  const sy = (v: number) => M.top + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
  const [x0, x1] = xRange ?? [0, 1];
  const sx = (v: number) => M.left + ((v - x0) / (x1 - x0 || 1)) * pw;

  let svg = text(M.left, 20, title, 'font-size="14" font-weight="600"');
  for (const v of yt) {
    svg += `<line x1="${M.left}" x2="${M.left + pw}" y1="${r(sy(v))}" y2="${r(sy(v))}" stroke="#e5e5e5"/>`;
    svg += text(M.left - 6, sy(v) + 4, tickLabel(v), 'text-anchor="end"');
  }
  if (xRange) {
    for (const v of niceTicks(x0, x1)) {
      svg += `<line x1="${r(sx(v))}" x2="${r(sx(v))}" y1="${M.top + ph}" y2="${M.top + ph + 4}" stroke="#333"/>`;
      svg += text(sx(v), M.top + ph + 16, tickLabel(v), 'text-anchor="middle"');
    }
  }
  svg += `<path d="M${M.left} ${M.top}V${M.top + ph}H${M.left + pw}" fill="none" stroke="#333"/>`;
  svg += text(M.left + pw / 2, HEIGHT - 8, xLabel, 'text-anchor="middle" font-size="12"');
  svg += text(14, M.top + ph / 2, yLabel, `text-anchor="middle" font-size="12" transform="rotate(-90 14 ${r(M.top + ph / 2)})"`);
  return { sx, sy, svg };
}

function extent(values: number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 1];
}

/** One polyline per series (non-finite points break the line), with a legend. */
export function linePlot(series: Series[], opts: { title: string; xLabel: string; yLabel: string }): string {
  if (series.length === 0) throw new HeadgradRangeError('linePlot: expected at least one series');
  for (const s of series) {
    if (s.x.length !== s.y.length) throw new HeadgradRangeError(`linePlot: series "${s.name}" has ${s.x.length} x values but ${s.y.length} y values`);
  }
  const a = axes(opts.title, extent(series.flatMap((s) => s.y)), extent(series.flatMap((s) => s.x)), opts.xLabel, opts.yLabel);
  let body = a.svg;
  series.forEach((s, k) => {
    const colour = PALETTE[k % PALETTE.length]!;
    let d = '';
    let pen = 'M';
    s.x.forEach((x, i) => {
      if (!Number.isFinite(x) || !Number.isFinite(s.y[i]!)) {
        pen = 'M';
        return;
      }
      d += `${pen}${r(a.sx(x))} ${r(a.sy(s.y[i]!))}`;
      pen = 'L';
    });
    body += `<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`;
    if (s.x.length === 1) body += `<circle cx="${r(a.sx(s.x[0]!))}" cy="${r(a.sy(s.y[0]!))}" r="3" fill="${colour}"/>`;
    const ly = M.top + 8 + k * 16;
    body += `<line x1="${WIDTH - 150}" x2="${WIDTH - 132}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="3"/>`;
    body += text(WIDTH - 126, ly + 4, s.name);
  });
  return svgDocument(WIDTH, HEIGHT, opts.title, body);
}

/** Vertical bars from a zero baseline (negative values point down), each labelled with its value. */
export function barChart(bars: Bar[], opts: { title: string; yLabel: string; xLabel?: string }): string {
  if (bars.length === 0) throw new HeadgradRangeError('barChart: expected at least one bar');
  const [lo, hi] = extent(bars.map((b) => b.value));
  const pad = 0.12 * (Math.max(0, hi) - Math.min(0, lo) || 1); // room for the value labels at the bar ends
  const a = axes(opts.title, [Math.min(0, lo) - (lo < 0 ? pad : 0), Math.max(0, hi) + (hi > 0 ? pad : 0)], null, opts.xLabel ?? '', opts.yLabel);
  const slot = (WIDTH - M.left - M.right) / bars.length;
  let body = a.svg;
  body += `<line x1="${M.left}" x2="${WIDTH - M.right}" y1="${r(a.sy(0))}" y2="${r(a.sy(0))}" stroke="#333"/>`;
  bars.forEach((b, i) => {
    const x = M.left + i * slot + slot * 0.2;
    const v = Number.isFinite(b.value) ? b.value : 0;
    const yTop = Math.min(a.sy(v), a.sy(0));
    const h = Math.abs(a.sy(v) - a.sy(0));
    body += `<rect x="${r(x)}" y="${r(yTop)}" width="${r(slot * 0.6)}" height="${r(Math.max(h, 0.5))}" fill="${PALETTE[i % PALETTE.length]}"/>`;
    body += text(x + slot * 0.3, v >= 0 ? yTop - 4 : yTop + h + 12, formatNumber(b.value, 3), 'text-anchor="middle"');
    body += text(x + slot * 0.3, HEIGHT - M.bottom + 16, b.label, 'text-anchor="middle"');
  });
  return svgDocument(WIDTH, HEIGHT, opts.title, body);
}
