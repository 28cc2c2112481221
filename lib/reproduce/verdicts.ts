// Plain judgments of whether our numbers agree with the paper's claims. The rules are fixed
// here, before any result is seen, and the report prints each rule beside its verdict; they
// compare directions and significance, never closeness to the paper's exact values (a 4-layer
// byte-level model is not Llama3).
import { mean } from './stats.js';
import type { Finding1 } from './finding1.js';
import type { Ablation } from './ablation.js';
import type { Composition } from './finding2.js';
import type { Finding3 } from './finding3.js';
import type { TaskApplication } from './application.js';
import type { ReproduceResult } from './run.js';

/** 'inconclusive' when the run has nothing to judge by (e.g. every arm scored 0: no task was learnt). */
export type Verdict = 'agrees' | 'partly agrees' | 'disagrees' | 'inconclusive';

export interface Judgment {
  claim: string;
  rule: string;
  verdict: Verdict;
  evidence: string;
}

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? String(Number(x.toPrecision(d))) : 'n/a');
const pct = (x: number) => `${fmt(100 * x)}%`;

// all of n -> agrees; more than half -> partly; otherwise disagrees; nothing to count -> inconclusive
function byCount(k: number, n: number): Verdict {
  if (n === 0) return 'inconclusive';
  if (k === n) return 'agrees';
  return k > n / 2 ? 'partly agrees' : 'disagrees';
}

export function judgeSpread(f: Finding1): Judgment {
  const n = f.tasks.length;
  const both = f.tasks.filter((t) => t.gini.after < t.gini.before && t.cv.after < t.cv.before).length;
  return {
    claim: 'SFT spreads activation over more heads: Gini and CV of the AP fall (Llama3: Gini 0.50 → 0.33, CV 1.19 → 0.71).',
    rule: 'agrees if both fall on every task, partly agrees if on more than half, else disagrees',
    verdict: byCount(both, n),
    evidence: `both fell on ${both} of ${n} tasks; mean Gini ${fmt(f.meanGini.before)} → ${fmt(f.meanGini.after)}, mean CV ${fmt(f.meanCv.before)} → ${fmt(f.meanCv.after)}`,
  };
}

export function judgeTaskSpecific(f: Finding1): Judgment {
  return {
    claim: 'SFT activates task-specific heads: ΔAPs of related tasks correlate (math and code cluster apart from text reasoning in the paper).',
    rule: 'agrees if complex tasks correlate more with their constituents than with the other basic tasks (mean Pearson of ΔAP)',
    verdict: f.constituentCorrelation > f.otherBasicCorrelation ? 'agrees' : 'disagrees',
    evidence: `mean ΔAP correlation with constituents ${fmt(f.constituentCorrelation)}, with other basic tasks ${fmt(f.otherBasicCorrelation)}`,
  };
}

export function judgeAblation(a: Ablation): Judgment {
  const k = Math.min(a.ownMoreThanOthers, a.ownMoreThanRandom);
  return {
    claim: `(beyond the paper) gating off a task's top-${a.k} AP heads hurts that task more than other tasks, and more than ${a.k} random heads.`,
    rule: 'agrees if both hold on every task whose unablated accuracy is high enough to drop, partly agrees if on more than half, else disagrees; inconclusive if no task is accurate enough',
    verdict: byCount(k, a.evaluable),
    evidence: `of ${a.evaluable} evaluable tasks: own drop > other tasks' drop on ${a.ownMoreThanOthers}, > random heads' drop on ${a.ownMoreThanRandom}`,
  };
}

export function judgeComposition(c: Composition[]): Judgment {
  const significant = c.filter((x) => x.pValue < 0.05).length;
  return {
    claim: 'A complex task’s ΔAP is a linear combination of the basic tasks’ ΔAPs (R² 0.97 and 0.95 in the paper).',
    rule: 'agrees if R² beats the permutation null (p < 0.05) for every complex task, partly agrees for more than half, else disagrees; the size of R² is compared in the table, not judged',
    verdict: byCount(significant, c.length),
    evidence: `p < 0.05 for ${significant} of ${c.length}; R² ${c.map((x) => `${x.task} ${fmt(x.r2)} (null ${fmt(x.nullR2)})`).join(', ')}`,
  };
}

export function judgeConstituents(c: Composition[]): Judgment {
  const known = c.filter((x) => x.constituents.length > 0);
  const onTop = known.filter((x) => x.constituentsOnTop).length;
  const needed = known.filter((x) => x.r2WithoutConstituents < x.r2).length;
  const first = known.filter((x) => x.topIsConstituent).length;
  return {
    claim: '(implied by the paper) the basic tasks a complex task is made of carry its decomposition.',
    rule: 'agrees if the constituents get the largest coefficients for every complex task, partly agrees for more than half, else disagrees',
    verdict: byCount(onTop, known.length),
    evidence: `constituents on top for ${onTop} of ${known.length}; the largest coefficient is a constituent's for ${first} of ${known.length}; dropping the constituents lowers R² for ${needed} of ${known.length}`,
  };
}

export function judgeEarlyShift(f: Finding3): Judgment {
  const ahead = f.trajectories.filter((t) => t.early.apProgress > t.early.weightFraction).length;
  return {
    claim: 'The AP moves sharply early in SFT while the weights barely move (first ~200 steps in the paper).',
    rule: 'agrees if, at a quarter of the steps, the AP has covered more of its way to the final AP than the weights have of theirs, for every run; partly agrees for more than half',
    verdict: byCount(ahead, f.trajectories.length),
    evidence: `ahead on ${ahead} of ${f.trajectories.length} runs; medians: AP progress ${pct(f.medianApProgress)}, weight change ${pct(f.medianWeightFraction)} of its final value; the final ‖θ − θ0‖/‖θ0‖ is ${fmt(f.medianFinalWeightChange)} (median)`,
  };
}

export function judgeApplication(apps: TaskApplication[]): Judgment {
  const arm = (a: TaskApplication, name: string) => a.arms.find((x) => x.arm === name)!.mean;
  const beatsSft = apps.filter((a) => arm(a, 'pattern-mix') > arm(a, 'sft-only')).length;
  const beatsRandom = apps.filter((a) => arm(a, 'pattern-mix') > arm(a, 'random-mix')).length;
  const gain = (other: string) => mean(apps.map((a) => arm(a, 'pattern-mix') - arm(a, other)));
  const learnt = apps.some((a) => a.arms.some((x) => x.mean > 0));
  return {
    claim: 'A pattern-guided mix of basic data before scarce complex-task SFT beats SFT only (+3.1 to +5.0 points) and a random mix (+1.75 to +3.0).',
    rule: 'agrees if the pattern-guided mix has a higher mean accuracy than both SFT only and the random mix on every complex task, partly agrees if on more than half, else disagrees; inconclusive if every arm scored 0',
    verdict: learnt ? byCount(Math.min(beatsSft, beatsRandom), apps.length) : 'inconclusive',
    evidence: `${learnt ? '' : 'no arm learnt any complex task; '}pattern-mix beats SFT only on ${beatsSft} of ${apps.length} tasks (mean gain ${fmt(100 * gain('sft-only'))} points) and the random mix on ${beatsRandom} (mean gain ${fmt(100 * gain('random-mix'))} points)`,
  };
}

/** Every judgment, in report order: spread, task-specific, ablation, composition, constituents, early shift, application. */
export function judgeAll(r: ReproduceResult): Judgment[] {
  return [
    judgeSpread(r.finding1), judgeTaskSpecific(r.finding1), judgeAblation(r.ablation),
    judgeComposition(r.finding2), judgeConstituents(r.finding2),
    judgeEarlyShift(r.finding3), judgeApplication(r.application),
  ];
}
