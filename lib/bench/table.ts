// One benchmark section as a plain-text table (npm run bench, headgrad bench).
import type { BenchSection } from './types.js';

export function formatTable(s: BenchSection): string {
  const cells = [s.columns, ...s.rows.map((r) => r.map(String))];
  const widths = s.columns.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((x, c) => x.padStart(widths[c]!)).join('  ');
  return [`## ${s.title}`, '', line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
