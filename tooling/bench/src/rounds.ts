import { type Computation, timeInterleaved, timeOnce } from './timing.js';

/** How the contestants at one sequence length are scheduled: which run, and in how many rounds. */
export interface RoundPlan<Name extends string> {
  /** How a contestant's time grows from one length to the next, to predict skips. */
  growth: Record<Name, number>;
  /** A contestant whose single call is predicted to take longer than this is not run. */
  callLimitMs: number;
  /** Time allowed for the rounds of the fast group; rounds = budget / one round. */
  roundBudgetMs: number;
  minRounds: number;
  maxRounds: number;
  /**
   * Calls at least this long are timed in a group of their own, in 1 to 3 rounds within
   * `slowBudgetMs`, so that they do not starve the rest.
   */
  slowCallMs: number;
  slowBudgetMs: number;
  /** A reason to skip a contestant predicted to take `predictedMs`, such as a run budget. */
  budgetSkip?: (predictedMs: number) => string | undefined;
}

export interface ContestantTiming {
  medianMs: number;
  rounds: number;
}

export interface Contest<Name extends string> {
  timings: Map<Name, ContestantTiming>;
  skipped: Map<Name, string>;
}

/**
 * Times the contestants at one length, each against its time at the previous (shorter) length
 * in `previous`, which is updated: one warm-up call each (it compiles and predicts a round's
 * cost), then interleaved rounds, the slow calls apart from the fast ones. `previous` is empty at
 * the first length; after it, a contestant it does not hold was skipped at a shorter length and
 * stays skipped.
 */
export async function timeContestants<Name extends string>(
  computations: Record<Name, Computation>,
  names: readonly Name[],
  previous: Map<Name, number>,
  plan: RoundPlan<Name>,
): Promise<Contest<Name>> {
  const firstLength = previous.size === 0;
  const skipped = new Map<Name, string>();
  const warm = new Map<Name, number>();
  for (const name of names) {
    const reason = skipReason(previous.get(name), plan.growth[name], firstLength, plan);
    if (reason !== undefined) {
      skipped.set(name, reason);
      continue;
    }
    const ms = await timeOnce(computations[name]);
    previous.set(name, ms);
    warm.set(name, ms);
  }
  const timings = new Map<Name, ContestantTiming>();
  const live = [...warm.keys()];
  for (const slow of [false, true]) {
    const group = live.filter((name) => (warm.get(name) ?? 0) >= plan.slowCallMs === slow);
    if (group.length === 0) continue;
    const round = group.reduce((sum, name) => sum + (warm.get(name) ?? 0), 0);
    const rounds = slow
      ? Math.max(1, Math.min(3, Math.floor(plan.slowBudgetMs / round)))
      : Math.max(plan.minRounds, Math.min(plan.maxRounds, Math.floor(plan.roundBudgetMs / round)));
    const results = await timeInterleaved(
      group.map((name) => computations[name]),
      rounds,
    );
    group.forEach((name, i) => {
      previous.set(name, results[i].medianMs);
      timings.set(name, { medianMs: results[i].medianMs, rounds });
    });
  }
  return { timings, skipped };
}

function skipReason<Name extends string>(
  before: number | undefined,
  growth: number,
  firstLength: boolean,
  plan: RoundPlan<Name>,
): string | undefined {
  if (before === undefined && !firstLength) return 'skipped at a shorter L';
  const predicted = (before ?? 0) * growth;
  if (predicted > plan.callLimitMs) {
    return `predicted ${(predicted / 1000).toFixed(0)} s per call > ${plan.callLimitMs / 1000} s`;
  }
  return plan.budgetSkip?.(predicted);
}
