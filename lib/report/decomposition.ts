// The report of one decomposition: coefficients (table and bar chart), R², p-value,
// leave-one-out, and heatmaps of the target, the fit and the residual.
import type { Decomposition } from '../patterns/decompose.js';
import type { Pattern } from '../patterns/pattern.js';
import type { ReportSpec } from './spec.js';

/** target ≈ intercept + Σ α_i base_i, head by head. */
export function fittedPattern(result: Decomposition, bases: Record<string, Pattern>): Pattern {
  const names = Object.keys(result.coefficients);
  const { layers, heads } = bases[names[0]!]!;
  const values = new Float64Array(layers * heads).fill(result.intercept ?? 0);
  for (const name of names) {
    const b = bases[name]!.values;
    for (let i = 0; i < values.length; i++) values[i]! += result.coefficients[name]! * b[i]!;
  }
  return { layers, heads, values };
}

export function decompositionReport(result: Decomposition, target: Pattern, bases: Record<string, Pattern>, o: { targetName: string; delta: boolean }): ReportSpec {
  const fit = fittedPattern(result, bases);
  const residual = target.values.map((v, i) => v - fit.values[i]!);
  const what = o.delta ? 'ΔAP' : 'AP';
  const asData = (values: Float64Array) => ({ layers: target.layers, heads: target.heads, values: Array.from(values) });
  const names = Object.keys(result.coefficients);
  return {
    title: `Decomposition of ${o.targetName}`,
    subtitle: `${what} over ${result.n} heads (${target.layers} layers × ${target.heads} heads), ${result.method.toUpperCase()}${result.intercept !== undefined ? ' with intercept' : ''}`,
    sections: [
      {
        heading: 'Fit',
        blocks: [
          {
            type: 'table',
            columns: ['base', 'coefficient', 'R² without it'],
            rows: [...names.map((n) => [n, result.coefficients[n]!, result.leaveOneOut[n]!]), ...(result.intercept !== undefined ? [['intercept', result.intercept, null]] : [])],
          },
          {
            type: 'table',
            columns: ['R²', 'adjusted R²', 'p (permutation)', 'permutations', 'seed'],
            rows: [[result.r2, result.adjustedR2, result.pValue, result.permutations, result.seed]],
            caption: 'p = (1 + #{R² of a fit to the head-shuffled target ≥ observed R²}) / (1 + permutations)',
          },
          ...result.notes.map((text) => ({ type: 'paragraph' as const, text: `Note: ${text}` })),
          { type: 'figure', figure: { kind: 'bar', title: 'Coefficients', yLabel: 'coefficient', bars: names.map((n) => ({ label: n, value: result.coefficients[n]! })) } },
        ],
      },
      {
        heading: 'Patterns',
        blocks: [
          { type: 'figure', figure: { kind: 'heatmap', title: `${what} of ${o.targetName}`, diverging: o.delta, pattern: asData(target.values) } },
          { type: 'figure', figure: { kind: 'heatmap', title: 'Fitted', diverging: o.delta, pattern: asData(fit.values) } },
          { type: 'figure', figure: { kind: 'heatmap', title: 'Residual (target − fitted)', diverging: true, pattern: asData(residual) } },
        ],
      },
    ],
  };
}
