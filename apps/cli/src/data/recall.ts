/**
 * Synthetic in-context recall (associative recall, as in the Zoology/Based "MQAR" tasks, in
 * characters): a sequence lists `pairs` key→value pairs, then a separator, then asks for every
 * key again in a new random order, each followed by its value:
 *
 *     k3a7x1m4|a7m4k3x1\n
 *
 * Keys are distinct lowercase letters, values digits, drawn afresh for every sequence, so a value
 * can only be predicted by finding its key earlier in the same sequence. The answers are the
 * value characters after the separator.
 */

import { randomGenerator } from '@elementwise/math';

export const RECALL_KEYS = 'abcdefghijklmnopqrstuvwxyz';
export const RECALL_VALUES = '0123456789';
export const RECALL_SEPARATOR = '|';
/** Every character a recall sequence can hold, for the model's vocabulary. */
export const RECALL_VOCABULARY = `\n${RECALL_SEPARATOR}${RECALL_KEYS}${RECALL_VALUES}`;

export interface RecallSequence {
  /** The sequence with its closing newline. */
  text: string;
  /** Positions in `text` of the values to recall (those after the separator). */
  answers: number[];
  /** For each answer, the values of the pairs not yet asked for (including its own). */
  remaining: string[][];
}

function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** `count` sequences of `pairs` pairs each, determined by `seed`. */
export function recallSequences(count: number, pairs: number, seed: number): RecallSequence[] {
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > RECALL_KEYS.length) {
    throw new Error(`--pairs must be an integer from 1 to ${RECALL_KEYS.length}, got ${pairs}`);
  }
  const next = randomGenerator(seed);
  return Array.from({ length: count }, () => {
    const keys = shuffled([...RECALL_KEYS], next).slice(0, pairs);
    const values = keys.map(() => RECALL_VALUES[Math.floor(next() * RECALL_VALUES.length)]);
    const asked = shuffled(
      keys.map((_, i) => i),
      next,
    );
    let text = keys.map((key, i) => key + values[i]).join('') + RECALL_SEPARATOR;
    const answers: number[] = [];
    const remaining: string[][] = [];
    asked.forEach((pair, n) => {
      remaining.push(asked.slice(n).map((i) => values[i]));
      text += keys[pair];
      answers.push(text.length);
      text += values[pair];
    });
    return { text: `${text}\n`, answers, remaining };
  });
}

/**
 * The expected accuracy of the best rule that ignores the keys: answer the most frequent value
 * among the pairs not yet asked for (a tie split evenly). A model must beat it to show that it
 * looks values up by their keys.
 */
export function keylessAccuracy(sequences: RecallSequence[]): number {
  let total = 0;
  let count = 0;
  for (const sequence of sequences) {
    sequence.answers.forEach((position, n) => {
      const truth = sequence.text[position];
      const counts = new Map<string, number>();
      for (const value of sequence.remaining[n]) counts.set(value, (counts.get(value) ?? 0) + 1);
      const top = Math.max(...counts.values());
      const modes = [...counts].filter(([, c]) => c === top).map(([value]) => value);
      total += modes.includes(truth) ? 1 / modes.length : 0;
      count++;
    });
  }
  return total / count;
}
