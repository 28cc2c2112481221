// Finding 2, composition: each complex task's ΔAP regressed on the basic tasks' ΔAPs over all
// layers·heads heads (OLS with an intercept; lib/patterns/decompose.ts), with
// - R² and its permutation p-value (shuffled head order of the target), and the mean R² of the
//   shuffled fits, which is what R² looks like by chance with this many bases and heads;
// - whether the constituent basic tasks get the largest coefficients;
// - R² when only the non-constituent basic tasks are allowed (does the fit need the right bases?).
import { decompose, type Decomposition } from '../patterns/decompose.js';
import { patternFromArray, type Pattern } from '../patterns/pattern.js';
import { Rng } from '../util/random.js';
import { tasksOf, type Context } from './context.js';
import { mean } from './stats.js';
import { deltaAP, deltaAPShape, type TaskRun } from './task-run.js';

export interface Composition {
  task: string;
  constituents: string[];
  coefficients: Record<string, number>;
  r2: number;
  pValue: number;
  /** Mean R² over fits to shuffled targets (the permutation null). */
  nullR2: number;
  /** Basic tasks by coefficient, largest first. */
  ranking: string[];
  /** The constituents hold the top |constituents| places of the ranking. */
  constituentsOnTop: boolean;
  /** The largest coefficient belongs to a constituent. */
  topIsConstituent: boolean;
  /** R² with the constituents left out of the bases (NaN when that leaves none). */
  r2WithoutConstituents: number;
  /** The same fit on scale-free ΔAP (task-run.ts deltaAPShape): a robustness check. */
  shape: { r2: number; pValue: number; ranking: string[]; topIsConstituent: boolean; r2WithoutConstituents: number };
}

export function finding2(ctx: Context, runs: Map<string, TaskRun>): Composition[] {
  const { layers, heads } = ctx.config;
  const basics = tasksOf(ctx, 'basic').map((t) => t.name);
  const patternOf = (delta: (run: TaskRun) => number[]) => (name: string): Pattern =>
    patternFromArray(layers, heads, delta(runs.get(name)!));
  const pattern = patternOf(deltaAP);
  const shapePattern = patternOf(deltaAPShape);
  const fitWith = (of: (name: string) => Pattern) => (target: Pattern, names: string[]): Decomposition =>
    decompose(target, Object.fromEntries(names.map((n) => [n, of(n)])), {
      method: 'ols', intercept: true, permutations: ctx.plan.permutations, seed: ctx.plan.seed,
    });
  const fit = fitWith(pattern);
  const fitShape = fitWith(shapePattern);
  const rank = (d: Decomposition): string[] => [...basics].sort((a, b) => d.coefficients[b]! - d.coefficients[a]!);

  return tasksOf(ctx, 'complex').map((t) => {
    const target = pattern(t.name);
    const full = fit(target, basics);
    const ranking = rank(full);
    const others = basics.filter((b) => !t.constituents.includes(b));
    const known = t.constituents.length > 0;
    const shapeTarget = shapePattern(t.name);
    const shapeFit = fitShape(shapeTarget, basics);
    const shapeRanking = rank(shapeFit);
    return {
      task: t.name,
      constituents: t.constituents,
      coefficients: full.coefficients,
      r2: full.r2,
      pValue: full.pValue,
      nullR2: nullR2(target, basics.map(pattern), ctx.plan.permutations, ctx.plan.seed),
      ranking,
      constituentsOnTop: known && ranking.slice(0, t.constituents.length).every((n) => t.constituents.includes(n)),
      topIsConstituent: known && t.constituents.includes(ranking[0]!),
      r2WithoutConstituents: known && others.length > 0 ? fit(target, others).r2 : NaN,
      shape: {
        r2: shapeFit.r2,
        pValue: shapeFit.pValue,
        ranking: shapeRanking,
        topIsConstituent: known && t.constituents.includes(shapeRanking[0]!),
        r2WithoutConstituents: known && others.length > 0 ? fitShape(shapeTarget, others).r2 : NaN,
      },
    };
  });
}

// The R² of the same regression on shuffled targets, averaged: its expected value by chance.
function nullR2(target: Pattern, bases: Pattern[], permutations: number, seed: number): number {
  const rng = new Rng(seed + 11);
  const named = Object.fromEntries(bases.map((b, i) => [`b${i}`, b]));
  const r2s: number[] = [];
  for (let i = 0; i < Math.min(permutations, 200); i++) {
    const values = rng.shuffle(Array.from(target.values));
    r2s.push(decompose({ ...target, values: Float64Array.from(values) }, named, { method: 'ols', intercept: true, permutations: 1 }).r2);
  }
  return mean(r2s);
}
