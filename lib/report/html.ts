// report.html: one self-contained page (inline CSS, inline SVG, no scripts, no external
// requests) rendered from a ReportSpec, and report.json beside it with the spec and the data.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeTextAtomic } from '../util/atomic_file.js';
import { VERSION } from '../version.js';
import { barChart, linePlot } from './charts.js';
import { escapeXml, formatNumber } from './format.js';
import { correlationMatrix, heatmap, matrixHeatmap } from './heatmap.js';
import { parseReportSpec, type Cell, type FigureSpec, type ReportBlock, type ReportFile, type ReportSpec } from './spec.js';

const CSS = `
body { font: 15px/1.5 system-ui, sans-serif; color: #222; max-width: 980px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.subtitle, footer { color: #666; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; } th { background: #f4f4f4; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: bottom; color: #666; font-size: 0.9rem; padding-top: 0.3rem; text-align: left; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #666; font-size: 0.9rem; }
`;

export function renderFigure(f: FigureSpec): string {
  switch (f.kind) {
    case 'heatmap':
      return heatmap({ ...f.pattern, values: Float64Array.from(f.pattern.values) }, f);
    case 'line':
      return linePlot(f.series, f);
    case 'bar':
      return barChart(f.bars, f);
    case 'correlation':
      return correlationMatrix(f.matrix, f.labels, f);
    case 'matrix':
      return matrixHeatmap(f.rows, f.cols, f.values, f);
  }
}

function cellHtml(c: Cell, digits: number): string {
  return typeof c === 'number' ? `<td class="num">${formatNumber(c, digits)}</td>` : `<td>${c === null ? 'n/a' : escapeXml(c)}</td>`;
}

function table(columns: string[], rows: Cell[][], caption: string | undefined, digits: number): string {
  const head = `<tr>${columns.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr>`;
  const body = rows.map((row) => `<tr>${row.map((c) => cellHtml(c, digits)).join('')}</tr>`).join('\n');
  return `<table>${caption ? `<caption>${escapeXml(caption)}</caption>` : ''}<thead>${head}</thead><tbody>\n${body}\n</tbody></table>`;
}

function renderBlock(b: ReportBlock): string {
  switch (b.type) {
    case 'paragraph':
      return `<p>${escapeXml(b.text)}</p>`;
    case 'table':
      return table(b.columns, b.rows, b.caption, b.digits ?? 3);
    case 'comparison': {
      const rows = b.rows.map((r) => {
        const diff = typeof r.paper === 'number' && typeof r.ours === 'number' ? r.ours - r.paper : null;
        return [r.quantity, r.paper, r.ours, diff, r.note ?? ''];
      });
      return table(['quantity', 'paper', 'ours', 'ours − paper', 'note'], rows, b.caption, 3);
    }
    case 'figure':
      return `<figure>${renderFigure(b.figure)}${b.caption ? `<figcaption>${escapeXml(b.caption)}</figcaption>` : ''}</figure>`;
  }
}

/** The page for a spec. <body data-figures="N"> counts the <figure>s, for the render check. */
export function renderReport(spec: ReportSpec): string {
  const figures = spec.sections.reduce((n, s) => n + s.blocks.filter((b) => b.type === 'figure').length, 0);
  const sections = spec.sections.map((s) => `<section>\n<h2>${escapeXml(s.heading)}</h2>\n${s.blocks.map(renderBlock).join('\n')}\n</section>`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(spec.title)}</title>
<style>${CSS}</style>
</head>
<body data-figures="${figures}">
<h1>${escapeXml(spec.title)}</h1>
${spec.subtitle ? `<p class="subtitle">${escapeXml(spec.subtitle)}</p>` : ''}
${sections.join('\n')}
<footer><p>Made by headgrad ${escapeXml(VERSION)}. Every number on this page is in report.json beside it.</p></footer>
</body>
</html>
`;
}

/**
 * Writes dir/report.json ({ format, version, spec, data }) and dir/report.html (or the HTML file
 * o.html names, in dir), each atomically. The spec is checked first, so a bad spec fails before
 * anything is written.
 */
export async function writeReport(dir: string, spec: ReportSpec, data: unknown, o: { html?: string } = {}): Promise<{ html: string; json: string }> {
  const checked = parseReportSpec(JSON.parse(JSON.stringify(spec)));
  await mkdir(dir, { recursive: true });
  const file: ReportFile = { format: 'headgrad-report', version: 1, spec, data };
  const json = path.join(dir, 'report.json');
  const html = path.join(dir, o.html ?? 'report.html');
  await writeTextAtomic(json, JSON.stringify(file, null, 1) + '\n');
  await writeTextAtomic(html, renderReport(checked));
  return { html, json };
}

/** Reads and checks a report.json; errors name the file and the offending field. */
export async function readReport(file: string): Promise<ReportFile> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`report file ${file}: ${err.code === 'ENOENT' ? 'no such file' : err instanceof SyntaxError ? `not valid JSON: ${err.message}` : err.message}`);
  }
  const f = json as Partial<ReportFile> | null;
  if (f?.format !== 'headgrad-report') throw new Error(`report file ${file}: "format" must be "headgrad-report", got ${JSON.stringify(f?.format)}`);
  if (f.version !== 1) throw new Error(`report file ${file}: unsupported version ${JSON.stringify(f.version)} (this tool reads version 1)`);
  try {
    return { format: 'headgrad-report', version: 1, spec: parseReportSpec(f.spec), data: f.data };
  } catch (e) {
    throw new Error(`report file ${file}: ${(e as Error).message}`);
  }
}
