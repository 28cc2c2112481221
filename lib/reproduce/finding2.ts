// Finding 2, composition: each complex task's ΔAP regressed on the basic tasks' ΔAPs over all
// layers·heads heads (OLS with an intercept), per SFT seed, with the nulls a referee needs
// beside the paper's R²:
//   - R² against a head-shuffle permutation null (the paper-style fit);
//   - the same regression on the base APs only: how much of the fit needs no SFT at all;
//   - the target's own AP_base alone: SFT shrinks the AP with the loss, so ΔAP ≈ −AP_base;
//   - the control tasks' ΔAPs as bases: unrelated tasks that share the SFT format;
//   - the R² the basic tasks add beyond the target's own AP_base (what the verdict judges),
//     with a Freedman–Lane permutation test;
// and which basic tasks carry the fit: coefficients in the model that holds AP_base, the
// ranking, and R² without the constituents. The scale-free variant is reported beside it.
import { tasksOf, type Context } from './context.js';
import { design, fit, incrementalTest, r2Test } from './regression.js';
import { mean, meanCI, type Interval } from './stats.js';
import { deltaAP, deltaAPShape, judgedAP, type Baseline, type TaskRun } from './task-run.js';

export interface Composition {
  task: string;
  constituents: string[];
  /** Basic tasks' coefficients in the fit that also holds the target's AP_base, mean over seeds. */
  coefficients: Record<string, number>;
  /** Basic tasks by coefficient, largest first. */
  ranking: string[];
  constituentsOnTop: boolean;
  topIsConstituent: boolean;
  /** The paper's fit: ΔAP on the basic ΔAPs; per-seed head-shuffle p-values and the mean shuffled R². */
  r2: Interval;
  pValues: number[];
  nullR2: number;
  /** AP_base of the target on the basic tasks' AP_base: no SFT involved. */
  baseOnly: number;
  /** ΔAP on the target's own AP_base alone. */
  ownBase: Interval;
  /** ΔAP on the control tasks' ΔAPs (null without control tasks). */
  controls: Interval | null;
  /** R² of [AP_base, basic ΔAPs] minus R² of AP_base alone, and its Freedman–Lane p-value per seed. */
  incremental: { r2: Interval; pValues: number[] };
  /** The paper's fit with the constituents left out (NaN values when unknown). */
  r2WithoutConstituents: Interval;
  /** The paper's fit on scale-free ΔAP. */
  shape: { r2: Interval; pValues: number[]; ranking: string[]; topIsConstituent: boolean };
}

export function finding2(ctx: Context, bases: Map<string, Baseline>, runs: Map<string, TaskRun[]>): Composition[] {
  const basics = tasksOf(ctx, 'basic').map((t) => t.name);
  const controls = tasksOf(ctx, 'control').map((t) => t.name);
  const n = ctx.config.layers * ctx.config.heads;
  const { permutations } = ctx.plan;
  const seeds = runs.get(basics[0]!)!.length;
  const delta = (name: string, s: number) => deltaAP(ctx, bases.get(name)!, runs.get(name)![s]!);
  const shapeDelta = (name: string, s: number) => deltaAPShape(ctx, bases.get(name)!, runs.get(name)![s]!);
  const baseOf = (name: string) => judgedAP(ctx, bases.get(name)!.base);
  const rank = (coef: Record<string, number>) => [...basics].sort((a, b) => coef[b]! - coef[a]!);

  return tasksOf(ctx, 'complex').map((t, k) => {
    const known = t.constituents.length > 0;
    const others = basics.filter((b) => !t.constituents.includes(b));
    const own = baseOf(t.name);
    const perSeed = Array.from({ length: seeds }, (_, s) => {
      const y = delta(t.name, s);
      const cols = basics.map((b) => delta(b, s));
      const seed = ctx.plan.seed + 1000 * k + s;
      const paper = r2Test(design(cols, n), y, permutations, seed);
      const reduced = design([own], n);
      const full = design([own, ...cols], n);
      const inc = incrementalTest(full, reduced, y, permutations, seed + 1);
      const coef = fit(full, y).coef.slice(2); // intercept, AP_base, then the basics
      const shapeY = shapeDelta(t.name, s);
      const shape = r2Test(design(basics.map((b) => shapeDelta(b, s)), n), shapeY, permutations, seed + 2);
      return {
        paper, inc, coef, shape,
        shapeCoef: fit(design(basics.map((b) => shapeDelta(b, s)), n), shapeY).coef.slice(1),
        ownBase: fit(reduced, y).r2,
        controls: controls.length ? fit(design(controls.map((c) => delta(c, s)), n), y).r2 : NaN,
        without: known && others.length ? fit(design(others.map((b) => delta(b, s)), n), y).r2 : NaN,
      };
    });
    const coefficients = Object.fromEntries(basics.map((b, i) => [b, mean(perSeed.map((p) => p.coef[i]!))]));
    const ranking = rank(coefficients);
    const shapeRanking = rank(Object.fromEntries(basics.map((b, i) => [b, mean(perSeed.map((p) => p.shapeCoef[i]!))])));
    return {
      task: t.name,
      constituents: t.constituents,
      coefficients,
      ranking,
      constituentsOnTop: known && ranking.slice(0, t.constituents.length).every((b) => t.constituents.includes(b)),
      topIsConstituent: known && t.constituents.includes(ranking[0]!),
      r2: meanCI(perSeed.map((p) => p.paper.r2)),
      pValues: perSeed.map((p) => p.paper.pValue),
      nullR2: mean(perSeed.map((p) => p.paper.nullR2)),
      baseOnly: fit(design(basics.map(baseOf), n), own).r2,
      ownBase: meanCI(perSeed.map((p) => p.ownBase)),
      controls: controls.length ? meanCI(perSeed.map((p) => p.controls)) : null,
      incremental: { r2: meanCI(perSeed.map((p) => p.inc.delta)), pValues: perSeed.map((p) => p.inc.pValue) },
      r2WithoutConstituents: meanCI(perSeed.map((p) => p.without)),
      shape: {
        r2: meanCI(perSeed.map((p) => p.shape.r2)), pValues: perSeed.map((p) => p.shape.pValue),
        ranking: shapeRanking, topIsConstituent: known && t.constituents.includes(shapeRanking[0]!),
      },
    };
  });
}
