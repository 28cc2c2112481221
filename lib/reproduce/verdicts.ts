// Plain judgments of whether our numbers agree with the paper's claims. The rules are fixed
// here, before any result is seen, and the report prints each rule beside its verdict; they
// compare directions and significance, never closeness to the paper's exact values (a 4-layer
// byte-level model is not Llama3).
//
// Every rule that rests on SFT uses the spread over SFT seeds (a 95% Student-t interval, or a
// majority of per-seed tests), so that a different BLAS or thread count, which moves single
// runs a little, cannot flip a verdict; and every "agrees" needs a null that could have failed:
//   spread        Gini and CV change judged by the seeds' interval, at the end of SFT and at a
//                 matched held-out loss (half the base loss)
//   specificity   the constituent-vs-other correlation gap against relabelled constituents
//   composition   the R² the basic tasks add beyond the target's own −AP_base (Freedman–Lane)
//   early shift   AP direction (cosine of ΔAP_t with the final ΔAP) ahead of the weights
//   application   one-sided paired t-tests over seeds between arms
import { mean } from './stats.js';
import type { Finding1 } from './finding1.js';
import type { Ablation } from './ablation.js';
import type { Composition } from './finding2.js';
import type { Finding3 } from './finding3.js';
import type { TaskApplication } from './application.js';
import type { ReproduceResult } from './run.js';

/** 'inconclusive' when the run has nothing to judge by (e.g. every arm scored 0, or one seed where a rule needs a spread). */
export type Verdict = 'agrees' | 'partly agrees' | 'disagrees' | 'inconclusive';

export interface Judgment {
  claim: string;
  rule: string;
  verdict: Verdict;
  evidence: string;
}

/** Significance level of every test behind a verdict. */
export const ALPHA = 0.05;

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? String(Number(x.toPrecision(d))) : 'n/a');
const pct = (x: number) => `${fmt(100 * x)}%`;
const ci = (i: { mean: number; lo: number; hi: number }) => `${fmt(i.mean)} [${fmt(i.lo)}, ${fmt(i.hi)}]`;

// all of n -> agrees; more than half -> partly; otherwise disagrees; nothing to count -> inconclusive
export function byCount(k: number, n: number): Verdict {
  if (n === 0) return 'inconclusive';
  if (k === n) return 'agrees';
  return k > n / 2 ? 'partly agrees' : 'disagrees';
}

/** More than half of the per-seed p-values below ALPHA (NaN counts as not significant). */
export function majoritySignificant(pValues: readonly number[]): boolean {
  return pValues.length > 0 && pValues.filter((p) => p < ALPHA).length > pValues.length / 2;
}

// Interval below / above 0 (NaN bounds, i.e. one seed, are neither).
const below0 = (i: { hi: number }) => i.hi < 0;
const above0 = (i: { lo: number }) => i.lo > 0;

export function judgeSpread(f: Finding1): Judgment {
  const n = f.tasks.length;
  const seeds = Math.min(...f.tasks.map((t) => t.gini.delta.n));
  const fell = f.tasks.filter((t) => below0(t.gini.delta) && below0(t.cv.delta)).length;
  const rose = f.tasks.filter((t) => above0(t.gini.delta) && above0(t.cv.delta)).length;
  return {
    claim: 'SFT spreads activation over more heads: Gini and CV of the AP fall (Llama3: Gini 0.50 → 0.33, CV 1.19 → 0.71). Here: from the fair base to the end of SFT.',
    rule: 'a task counts when the 95% interval over SFT seeds of both the Gini change and the CV change lies below 0; agrees if every task counts, partly agrees if more than half, else disagrees; inconclusive with fewer than 2 seeds',
    verdict: seeds < 2 ? 'inconclusive' : byCount(fell, n),
    evidence: `both fell on ${fell} of ${n} tasks and both rose on ${rose} (${seeds} seeds); mean Gini ${fmt(f.meanGini.before)} → ${fmt(f.meanGini.after)}, mean CV ${fmt(f.meanCv.before)} → ${fmt(f.meanCv.after)}`,
  };
}

export function judgeSpreadMatched(f: Finding1): Judgment {
  const seeds = Math.min(...f.tasks.map((t) => t.gini.delta.n));
  const reached = f.tasks.filter((t) => t.matched.gini.n >= 2);
  const fell = reached.filter((t) => below0(t.matched.gini) && below0(t.matched.cv)).length;
  const rose = reached.filter((t) => above0(t.matched.gini) && above0(t.matched.cv)).length;
  return {
    claim: 'The same claim at a matched held-out loss: the Gini/CV change from the fair base to the point where the held-out loss has halved, so that tasks whose loss falls far and tasks whose loss stays high are compared at the same relative loss.',
    rule: 'as the spread rule, on the change to the first snapshot (linearly interpolated) whose held-out loss is at most half the base loss; tasks that reach it in fewer than 2 seeds are not counted; inconclusive if none is counted',
    verdict: seeds < 2 ? 'inconclusive' : byCount(fell, reached.length),
    evidence: `${reached.length} of ${f.tasks.length} tasks halved their loss in ≥ 2 seeds; of those both fell on ${fell} and both rose on ${rose}; mean Gini change ${fmt(mean(reached.map((t) => t.matched.gini.mean)))}, mean CV change ${fmt(mean(reached.map((t) => t.matched.cv.mean)))}`,
  };
}

export function judgeTaskSpecific(f: Finding1): Judgment {
  const s = f.specificity;
  return {
    claim: 'SFT activates task-specific heads: ΔAPs of related tasks correlate (math and code cluster apart from text reasoning in the paper).',
    rule: `agrees if the complex tasks' mean ΔAP correlation (Pearson, averaged over seeds) with their constituents exceeds that with the other basic tasks, with p < ${ALPHA} against relabelled constituents (each complex task's constituents redrawn at random from the basic tasks, ${s.permutations} draws); else disagrees; inconclusive if no complex task has known constituents`,
    verdict: !Number.isFinite(s.gap) ? 'inconclusive' : s.gap > 0 && s.pValue < ALPHA ? 'agrees' : 'disagrees',
    evidence: `mean ΔAP correlation with constituents ${fmt(s.constituent)}, with other basic tasks ${fmt(s.other)}: gap ${fmt(s.gap)}, p = ${fmt(s.pValue, 2)} (relabelling null); per-seed gap ${ci(s.perSeed)}`,
  };
}

export function judgeAblation(a: Ablation): Judgment {
  const k = Math.min(a.ownMoreThanOthers, a.ownMoreThanRandom);
  return {
    claim: `(beyond the paper) gating off a task's top-${a.k} AP heads hurts that task more than other tasks, and more than ${a.k} random heads.`,
    rule: 'agrees if both hold on every task whose unablated accuracy is high enough to drop, partly agrees if on more than half, else disagrees; inconclusive if no task is accurate enough (one multi-task model: no seed spread)',
    verdict: byCount(k, a.evaluable),
    evidence: `of ${a.evaluable} evaluable tasks: own drop > other tasks' drop on ${a.ownMoreThanOthers}, > random heads' drop on ${a.ownMoreThanRandom}`,
  };
}

export function judgeComposition(c: Composition[]): Judgment {
  const composed = c.filter((x) => majoritySignificant(x.incremental.pValues)).length;
  return {
    claim: 'A complex task’s ΔAP is a linear combination of the basic tasks’ ΔAPs (R² 0.97 and 0.95 in the paper).',
    rule: `a complex task counts when the R² the basic tasks' ΔAPs add beyond the target's own AP_base (full fit vs AP_base alone, both with intercept) beats a Freedman–Lane permutation null at p < ${ALPHA} in more than half of the SFT seeds; agrees if every complex task counts, partly agrees if more than half, else disagrees. Plain R², R² on base APs only, on −AP_base alone and on control bases are reported beside it, not judged`,
    verdict: byCount(composed, c.length),
    evidence: `counts for ${composed} of ${c.length}; incremental R² ${c.map((x) => `${x.task} ${ci(x.incremental.r2)}`).join(', ')}; plain R² ${c.map((x) => fmt(x.r2.mean)).join(' / ')} vs −AP_base alone ${c.map((x) => fmt(x.ownBase.mean)).join(' / ')} vs base APs only ${c.map((x) => fmt(x.baseOnly)).join(' / ')}`,
  };
}

export function judgeConstituents(c: Composition[]): Judgment {
  const known = c.filter((x) => x.constituents.length > 0);
  const onTop = known.filter((x) => x.constituentsOnTop).length;
  const first = known.filter((x) => x.topIsConstituent).length;
  return {
    claim: '(implied by the paper) the basic tasks a complex task is made of carry its decomposition.',
    rule: 'agrees if the constituents get the largest coefficients (mean over seeds, in the fit that also holds the target\'s own AP_base) for every complex task, partly agrees for more than half, else disagrees; inconclusive if no constituents are known',
    verdict: byCount(onTop, known.length),
    evidence: `constituents on top for ${onTop} of ${known.length}; the largest coefficient is a constituent's for ${first} of ${known.length}`,
  };
}

export function judgeEarlyShift(f: Finding3): Judgment {
  const tasks = f.perTask;
  const seeds = Math.min(...tasks.map((t) => t.lead.n));
  const ahead = tasks.filter((t) => above0(t.lead)).length;
  return {
    claim: 'The AP moves sharply early in SFT while the weights barely move (first ~200 steps in the paper).',
    rule: 'at a quarter of the steps, the AP direction progress (cosine of ΔAP_t with the final ΔAP, scale-free) minus the weight progress (‖θ_t − θ_0‖ / ‖θ_T − θ_0‖); a task counts when the 95% interval over seeds lies above 0; agrees if every task counts, partly agrees for more than half, else disagrees; inconclusive with fewer than 2 seeds',
    verdict: seeds < 2 ? 'inconclusive' : byCount(ahead, tasks.length),
    evidence: `ahead on ${ahead} of ${tasks.length} tasks; medians over runs: AP direction ${pct(f.medianApProgress)}, weights ${pct(f.medianWeightFraction)} of their final change; final ‖θ − θ0‖/‖θ0‖ ${fmt(f.medianFinalWeightChange)} (median)`,
  };
}

const armOf = (a: TaskApplication, name: string) => a.arms.find((x) => x.arm === name)!;

function beats(a: TaskApplication, other: string): boolean {
  const t = a.tests[other];
  return t !== undefined && t.meanDiff > 0 && t.pValue < ALPHA;
}

export function judgeApplication(apps: TaskApplication[]): Judgment {
  const counted = apps.filter((a) => beats(a, 'sft-only') && beats(a, 'random-mix')).length;
  const gain = (other: string) => mean(apps.map((a) => armOf(a, 'pattern-mix').mean - armOf(a, other).mean));
  const learnt = apps.some((a) => a.arms.some((x) => x.mean > 0));
  const sig = (other: string) => apps.filter((a) => beats(a, other)).length;
  return {
    claim: 'A pattern-guided mix of basic data before scarce complex-task SFT beats SFT only (+3.1 to +5.0 points) and a random mix (+1.75 to +3.0).',
    rule: `a complex task counts when the pattern-guided mix beats both SFT only and the random mix in a one-sided paired t-test over seeds at p < ${ALPHA}; agrees if every task counts, partly agrees if more than half, else disagrees; inconclusive if every arm scored 0`,
    verdict: learnt ? byCount(counted, apps.length) : 'inconclusive',
    evidence: `${learnt ? '' : 'no arm learnt any complex task; '}counts for ${counted} of ${apps.length}; beats SFT only significantly on ${sig('sft-only')} (mean gain ${fmt(100 * gain('sft-only'))} points), the random mix on ${sig('random-mix')} (mean gain ${fmt(100 * gain('random-mix'))} points)`,
  };
}

export function judgeMixSource(apps: TaskApplication[]): Judgment {
  const counted = apps.filter((a) => beats(a, 'uniform-mix') && beats(a, 'format-only')).length;
  const gain = (other: string) => mean(apps.map((a) => armOf(a, 'pattern-mix').mean - armOf(a, other).mean));
  const learnt = apps.some((a) => a.arms.some((x) => x.mean > 0));
  return {
    claim: '(beyond the paper) the gain comes from the α proportions, not from any basic data or from more practice of the prompt format.',
    rule: `a complex task counts when the pattern-guided mix beats both the uniform basic mix and a format-only stage 1 in one-sided paired t-tests over seeds at p < ${ALPHA}; agrees if every task counts, partly agrees if more than half, else disagrees; inconclusive if every arm scored 0`,
    verdict: learnt ? byCount(counted, apps.length) : 'inconclusive',
    evidence: `counts for ${counted} of ${apps.length}; mean gain over the uniform mix ${fmt(100 * gain('uniform-mix'))} points, over format-only ${fmt(100 * gain('format-only'))} points`,
  };
}

/** Every judgment, in report order. */
export function judgeAll(r: ReproduceResult): Judgment[] {
  return [
    judgeSpread(r.finding1), judgeSpreadMatched(r.finding1), judgeTaskSpecific(r.finding1), judgeAblation(r.ablation),
    judgeComposition(r.finding2), judgeConstituents(r.finding2),
    judgeEarlyShift(r.finding3), judgeApplication(r.application), judgeMixSource(r.application),
  ];
}
