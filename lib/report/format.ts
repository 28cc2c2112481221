// Text that goes into SVG and HTML: escaping, and one way to print a number everywhere.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and quoted attributes (HTML and SVG alike). */
export function escapeXml(s: string): string {
  return String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * A number for people: integers as they are, otherwise `digits` significant digits, and
 * exponent notation when the magnitude is far from 1. NaN, ±Infinity and null print as "n/a"
 * (NaN is how metrics say "undefined here", see patterns/metrics.ts).
 */
export function formatNumber(x: number | null | undefined, digits = 3): string {
  if (x == null || !Number.isFinite(x)) return 'n/a';
  if (Number.isInteger(x) && Math.abs(x) < 1e7) return String(x);
  const mag = Math.abs(x);
  if (mag !== 0 && (mag < 1e-3 || mag >= 1e7)) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}
