import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RoundPlan, timeContestants } from '../src/rounds.js';
import { median, peakBytes, timeInterleaved, timeOnce } from '../src/timing.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A computation that records its name when called and returns one small tensor. */
function recorder(calls: string[], name: string) {
  return () => {
    calls.push(name);
    return tf.zeros([4]);
  };
}

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('leaves its argument unsorted', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('timeOnce and timeInterleaved', () => {
  it('times one call until its outputs are read, and disposes them', async () => {
    const before = tf.memory().numTensors;
    const ms = await timeOnce(() => [tf.ones([8]), tf.zeros([8])]);
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('interleaves the computations round by round and returns each one its samples', async () => {
    const calls: string[] = [];
    const timings = await timeInterleaved([recorder(calls, 'a'), recorder(calls, 'b')], 3);
    expect(calls).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    expect(timings).toHaveLength(2);
    for (const { medianMs, samplesMs } of timings) {
      expect(samplesMs).toHaveLength(3);
      expect(medianMs).toBe(median(samplesMs));
    }
  });

  it('measures the peak of intermediates, above what existed before', async () => {
    const kept = tf.zeros([1024]);
    const peak = await peakBytes(() =>
      tf.tidy(() => {
        const big = tf.ones([4096]);
        return tf.sum(big);
      }),
    );
    kept.dispose();
    expect(peak).toBeGreaterThanOrEqual(4096 * 4);
    expect(peak).toBeLessThan(4096 * 4 + 1024 * 4);
  });
});

describe('timeContestants', () => {
  type Name = 'fast' | 'slow' | 'new';
  const recorders = (calls: string[]) => ({
    fast: recorder(calls, 'fast'),
    slow: recorder(calls, 'slow'),
    new: recorder(calls, 'new'),
  });
  const plan: RoundPlan<Name> = {
    growth: { fast: 4, slow: 16, new: 4 },
    callLimitMs: 1000,
    roundBudgetMs: 1e9,
    minRounds: 3,
    maxRounds: 5,
    slowCallMs: 1e9,
    slowBudgetMs: 1e9,
  };

  it('skips what the previous length predicts too slow or never ran, and times the rest', async () => {
    const calls: string[] = [];
    const computations = recorders(calls);
    const previous = new Map<Name, number>([
      ['fast', 1],
      ['slow', 100],
    ]);
    const contest = await timeContestants(computations, ['fast', 'slow', 'new'], previous, plan);
    expect(Object.fromEntries(contest.skipped)).toEqual({
      slow: 'predicted 2 s per call > 1 s',
      new: 'skipped at a shorter L',
    });
    // One warm-up, then as many rounds as the (huge) budget allows: maxRounds.
    expect(calls).toEqual(Array(6).fill('fast'));
    expect(contest.timings.get('fast')?.rounds).toBe(5);
    expect(previous.get('fast')).toBe(contest.timings.get('fast')?.medianMs);
    expect(previous.get('slow')).toBe(100);
  });

  it('runs everything at the first length, slow calls in at most 3 rounds of their own', async () => {
    const calls: string[] = [];
    const computations = recorders(calls);
    const contest = await timeContestants(computations, ['fast', 'slow', 'new'], new Map(), {
      ...plan,
      slowCallMs: 0,
    });
    expect(contest.skipped.size).toBe(0);
    expect([...contest.timings.values()].map((t) => t.rounds)).toEqual([3, 3, 3]);
    expect(calls).toHaveLength(3 + 3 * 3);
  });

  it('asks the budget about every contestant it would run', async () => {
    const contest = await timeContestants(
      { fast: () => tf.zeros([1]), slow: () => tf.zeros([1]), new: () => tf.zeros([1]) },
      ['fast', 'slow', 'new'],
      new Map(),
      { ...plan, budgetSkip: () => 'run budget exhausted' },
    );
    expect(contest.timings.size).toBe(0);
    expect([...contest.skipped.values()]).toEqual(Array(3).fill('run budget exhausted'));
  });
});
