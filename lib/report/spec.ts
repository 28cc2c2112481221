// ReportSpec: a report as data. Commands build one, writeReport saves it inside report.json and
// renders report.html from it; `headgrad report` re-renders any saved report.json. Figures are
// stored as their data (not as SVG), so report.json holds every number the page shows.
import type { Bar, Series } from './charts.js';

export type Cell = string | number | null;

export type FigureSpec =
  | { kind: 'heatmap'; title: string; pattern: { layers: number; heads: number; values: number[] }; diverging?: boolean; labels?: { x?: string; y?: string } }
  | { kind: 'line'; title: string; series: Series[]; xLabel: string; yLabel: string }
  | { kind: 'bar'; title: string; bars: Bar[]; yLabel: string; xLabel?: string }
  | { kind: 'correlation'; title: string; matrix: number[][]; labels: string[] }
  /** rows × cols values, row-major (e.g. heads × SFT steps). */
  | { kind: 'matrix'; title: string; rows: number; cols: number; values: number[]; rowLabels: string[]; colLabels: string[]; xLabel?: string; yLabel?: string; diverging?: boolean };

export type ReportBlock =
  | { type: 'paragraph'; text: string }
  | { type: 'table'; columns: string[]; rows: Cell[][]; caption?: string; digits?: number }
  /** "paper vs ours": one row per quantity; the page adds the difference when both are numbers. */
  | { type: 'comparison'; caption?: string; rows: { quantity: string; paper: Cell; ours: Cell; note?: string }[] }
  | { type: 'figure'; figure: FigureSpec; caption?: string };

export interface ReportSection {
  heading: string;
  blocks: ReportBlock[];
}

export interface ReportSpec {
  title: string;
  subtitle?: string;
  sections: ReportSection[];
}

/** The contents of report.json. */
export interface ReportFile {
  format: 'headgrad-report';
  version: 1;
  spec: ReportSpec;
  data: unknown; // the producing command's numbers, as it chose to save them
}

// Validation of a spec read from JSON. Each check names the path of the offending field.
// JSON has no NaN (JSON.stringify writes null), so numeric figure data accepts null as NaN.

type Obj = Record<string, unknown>;

function fail(path: string, expected: string, got: unknown): never {
  const shown = got === undefined ? 'nothing' : JSON.stringify(got)?.slice(0, 60);
  throw new Error(`${path} must be ${expected}, got ${shown}`);
}

function obj(x: unknown, path: string): Obj {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(path, 'an object', x);
  return x as Obj;
}

function arr(x: unknown, path: string): unknown[] {
  if (!Array.isArray(x)) fail(path, 'an array', x);
  return x as unknown[];
}

function str(x: unknown, path: string): string {
  if (typeof x !== 'string') fail(path, 'a string', x);
  return x as string;
}

function optStr(x: unknown, path: string): void {
  if (x !== undefined) str(x, path);
}

function nums(x: unknown, path: string): number[] {
  return arr(x, path).map((v, i) => (v === null ? NaN : typeof v === 'number' ? v : fail(`${path}[${i}]`, 'a number or null', v)));
}

function cell(x: unknown, path: string): Cell {
  if (x === null || typeof x === 'string' || typeof x === 'number') return x;
  return fail(path, 'a string, number or null', x);
}

function figure(x: unknown, path: string): FigureSpec {
  const f = obj(x, path);
  str(f.title, `${path}.title`);
  switch (f.kind) {
    case 'heatmap': {
      const p = obj(f.pattern, `${path}.pattern`);
      for (const k of ['layers', 'heads'] as const) {
        if (!Number.isInteger(p[k]) || (p[k] as number) < 1) fail(`${path}.pattern.${k}`, 'a positive integer', p[k]);
      }
      const values = nums(p.values, `${path}.pattern.values`);
      if (values.length !== (p.layers as number) * (p.heads as number)) fail(`${path}.pattern.values`, `${p.layers} × ${p.heads} numbers`, `${values.length} numbers`);
      if (f.diverging !== undefined && typeof f.diverging !== 'boolean') fail(`${path}.diverging`, 'true or false', f.diverging);
      return { ...(f as FigureSpec & { kind: 'heatmap' }), pattern: { layers: p.layers as number, heads: p.heads as number, values } };
    }
    case 'line': {
      const series = arr(f.series, `${path}.series`).map((s, i) => {
        const o = obj(s, `${path}.series[${i}]`);
        return { name: str(o.name, `${path}.series[${i}].name`), x: nums(o.x, `${path}.series[${i}].x`), y: nums(o.y, `${path}.series[${i}].y`) };
      });
      return { kind: 'line', title: f.title as string, series, xLabel: str(f.xLabel, `${path}.xLabel`), yLabel: str(f.yLabel, `${path}.yLabel`) };
    }
    case 'bar': {
      const bars = arr(f.bars, `${path}.bars`).map((b, i) => {
        const o = obj(b, `${path}.bars[${i}]`);
        return { label: str(o.label, `${path}.bars[${i}].label`), value: nums([o.value], `${path}.bars[${i}].value`)[0]! };
      });
      optStr(f.xLabel, `${path}.xLabel`);
      return { ...(f as FigureSpec & { kind: 'bar' }), bars, yLabel: str(f.yLabel, `${path}.yLabel`) };
    }
    case 'correlation': {
      const matrix = arr(f.matrix, `${path}.matrix`).map((row, i) => nums(row, `${path}.matrix[${i}]`));
      const labels = arr(f.labels, `${path}.labels`).map((l, i) => str(l, `${path}.labels[${i}]`));
      return { kind: 'correlation', title: f.title as string, matrix, labels };
    }
    case 'matrix': {
      for (const k of ['rows', 'cols'] as const) {
        if (!Number.isInteger(f[k]) || (f[k] as number) < 1) fail(`${path}.${k}`, 'a positive integer', f[k]);
      }
      const [rows, cols] = [f.rows as number, f.cols as number];
      const values = nums(f.values, `${path}.values`);
      if (values.length !== rows * cols) fail(`${path}.values`, `${rows} × ${cols} numbers`, `${values.length} numbers`);
      const rowLabels = arr(f.rowLabels, `${path}.rowLabels`).map((l, i) => str(l, `${path}.rowLabels[${i}]`));
      const colLabels = arr(f.colLabels, `${path}.colLabels`).map((l, i) => str(l, `${path}.colLabels[${i}]`));
      if (rowLabels.length !== rows) fail(`${path}.rowLabels`, `${rows} labels`, `${rowLabels.length} labels`);
      if (colLabels.length !== cols) fail(`${path}.colLabels`, `${cols} labels`, `${colLabels.length} labels`);
      optStr(f.xLabel, `${path}.xLabel`);
      optStr(f.yLabel, `${path}.yLabel`);
      if (f.diverging !== undefined && typeof f.diverging !== 'boolean') fail(`${path}.diverging`, 'true or false', f.diverging);
      return { ...(f as FigureSpec & { kind: 'matrix' }), values, rowLabels, colLabels };
    }
    default:
      return fail(`${path}.kind`, '"heatmap", "line", "bar", "correlation" or "matrix"', f.kind);
  }
}

function block(x: unknown, path: string): ReportBlock {
  const b = obj(x, path);
  switch (b.type) {
    case 'paragraph':
      return { type: 'paragraph', text: str(b.text, `${path}.text`) };
    case 'table': {
      const columns = arr(b.columns, `${path}.columns`).map((c, i) => str(c, `${path}.columns[${i}]`));
      const rows = arr(b.rows, `${path}.rows`).map((row, i) => {
        const cells = arr(row, `${path}.rows[${i}]`);
        if (cells.length !== columns.length) fail(`${path}.rows[${i}]`, `${columns.length} cells (one per column)`, `${cells.length} cells`);
        return cells.map((c, j) => cell(c, `${path}.rows[${i}][${j}]`));
      });
      optStr(b.caption, `${path}.caption`);
      if (b.digits !== undefined && !(Number.isInteger(b.digits) && (b.digits as number) >= 1 && (b.digits as number) <= 15)) {
        fail(`${path}.digits`, 'an integer from 1 to 15', b.digits);
      }
      return { ...(b as ReportBlock & { type: 'table' }), columns, rows };
    }
    case 'comparison': {
      const rows = arr(b.rows, `${path}.rows`).map((row, i) => {
        const o = obj(row, `${path}.rows[${i}]`);
        optStr(o.note, `${path}.rows[${i}].note`);
        return {
          quantity: str(o.quantity, `${path}.rows[${i}].quantity`),
          paper: cell(o.paper, `${path}.rows[${i}].paper`),
          ours: cell(o.ours, `${path}.rows[${i}].ours`),
          ...(o.note !== undefined ? { note: o.note as string } : {}),
        };
      });
      optStr(b.caption, `${path}.caption`);
      return { ...(b as ReportBlock & { type: 'comparison' }), rows };
    }
    case 'figure':
      optStr(b.caption, `${path}.caption`);
      return { type: 'figure', figure: figure(b.figure, `${path}.figure`), ...(b.caption !== undefined ? { caption: b.caption as string } : {}) };
    default:
      return fail(`${path}.type`, '"paragraph", "table", "comparison" or "figure"', b.type);
  }
}

/** Checks a spec that came from JSON (report.json); errors name the path, e.g. spec.sections[1].blocks[0].figure.kind. */
export function parseReportSpec(x: unknown, path = 'spec'): ReportSpec {
  const s = obj(x, path);
  optStr(s.subtitle, `${path}.subtitle`);
  const sections = arr(s.sections, `${path}.sections`).map((sec, i) => {
    const o = obj(sec, `${path}.sections[${i}]`);
    return {
      heading: str(o.heading, `${path}.sections[${i}].heading`),
      blocks: arr(o.blocks, `${path}.sections[${i}].blocks`).map((b, j) => block(b, `${path}.sections[${i}].blocks[${j}]`)),
    };
  });
  return { title: str(s.title, `${path}.title`), ...(s.subtitle !== undefined ? { subtitle: s.subtitle as string } : {}), sections };
}
