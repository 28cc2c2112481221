// Shared pieces of the hand-written SVG figures: the document wrapper, text, axis ticks and
// colour scales. Figures are plain strings, so they render in any browser and need no DOM here.
// Nothing in a figure uses an id (gradients, clip paths): many figures share one HTML page.
import { escapeXml, formatNumber } from './format.js';

export const FONT = 'font-family="system-ui, sans-serif"';

export function svgDocument(width: number, height: number, title: string, body: string): string {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" ` +
    `aria-label="${escapeXml(title)}" ${FONT} font-size="11"><title>${escapeXml(title)}</title>` +
    `<rect width="${w}" height="${h}" fill="#fff"/>${body}</svg>`
  );
}

export function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${r(x)}" y="${r(y)}" ${attrs}>${escapeXml(s)}</text>`;
}

/** Rounds a coordinate to 0.01 px to keep the SVG small. */
export function r(x: number): number {
  return Math.round(x * 100) / 100;
}

/** About `count` round tick values (1, 2 or 5 × 10^k apart) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function tickLabel(v: number): string {
  return formatNumber(v, 3);
}

type Rgb = [number, number, number];

function mix(stops: Rgb[], t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i]!.map((v, k) => Math.round(v + (stops[i + 1]![k]! - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// Perceptually ordered dark-to-light ramp (viridis, sampled at 5 points).
const SEQUENTIAL: Rgb[] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
// Blue - white - red, white at the centre.
const DIVERGING: Rgb[] = [[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]];

export interface ColourScale {
  min: number;
  max: number;
  colour(v: number): string;
}

/** Sequential over [min, max] of the data. */
export function sequentialScale(min: number, max: number): ColourScale {
  const span = max - min || 1;
  return { min, max, colour: (v) => mix(SEQUENTIAL, (v - min) / span) };
}

/** Diverging, symmetric about 0 (white), so the sign of a ΔAP reads at a glance. */
export function divergingScale(maxAbs: number): ColourScale {
  const m = maxAbs || 1;
  return { min: -m, max: m, colour: (v) => mix(DIVERGING, (v / m + 1) / 2) };
}

/** Categorical colours for series and bars (Tableau 10). */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** A vertical colour bar [w × h] at (x, y) with its min, middle and max labelled. */
export function colourBar(scale: ColourScale, x: number, y: number, w: number, h: number): string {
  const steps = 48;
  let out = '';
  for (let i = 0; i < steps; i++) {
    const v = scale.max - ((i + 0.5) / steps) * (scale.max - scale.min);
    out += `<rect x="${r(x)}" y="${r(y + (i * h) / steps)}" width="${w}" height="${r(h / steps + 0.5)}" fill="${scale.colour(v)}"/>`;
  }
  out += `<rect x="${r(x)}" y="${r(y)}" width="${w}" height="${r(h)}" fill="none" stroke="#999"/>`;
  const mid = (scale.min + scale.max) / 2;
  for (const [v, ty] of [[scale.max, y], [mid, y + h / 2], [scale.min, y + h]] as const) {
    out += text(x + w + 4, ty + 4, tickLabel(v));
  }
  return out;
}
