import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { SequenceDataset } from '@elementwise/models';
import { numericCell } from './csv.js';

/**
 * The UCI "Optical Recognition of Handwritten Digits" test set (1,797 images of 8×8 pixels,
 * values 0–16, classes 0–9) as shipped by Debian's `python3-sklearn`.
 * `tooling/scripts/src/install-datasets.sh` installs it; `EW_DIGITS_PATH` points elsewhere.
 */
export const DEFAULT_DIGITS_PATH =
  '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';

export const DIGIT_ROWS = 8;
export const DIGIT_COLUMNS = 8;
export const DIGIT_CLASSES = 10;
/** Fixed split by position: images [0, 1257) train, [1257, 1437) validation, [1437, 1797) test. */
export const DIGITS_SPLIT = {
  train: [0, 1257],
  validation: [1257, 1437],
  test: [1437, 1797],
} as const;

export function digitsPath(): string {
  return process.env.EW_DIGITS_PATH || DEFAULT_DIGITS_PATH;
}

export interface DigitsSplits {
  train: SequenceDataset;
  validation: SequenceDataset;
  test: SequenceDataset;
}

/**
 * Reads every image as a sequence of 8 steps (pixel rows, top to bottom) of 8 channels (the
 * row's pixels scaled from 0–16 to 0–1), with its digit as the label.
 */
export function loadDigits(path: string = digitsPath()): DigitsSplits {
  let compressed: Buffer;
  try {
    compressed = readFileSync(path);
  } catch (error) {
    throw new Error(
      `The UCI digits file is missing at ${path} (${(error as Error).message}). ` +
        'Install it with "bash tooling/scripts/src/install-datasets.sh" (Debian python3-sklearn) ' +
        'or set EW_DIGITS_PATH to a copy of digits.csv.gz.',
    );
  }
  const lines = gunzipSync(compressed)
    .toString('utf8')
    .split(/\r?\n/)
    .filter((line) => line.length > 0);
  const pixels = DIGIT_ROWS * DIGIT_COLUMNS;
  if (lines.length !== DIGITS_SPLIT.test[1]) {
    throw new Error(`${path}: expected ${DIGITS_SPLIT.test[1]} images, found ${lines.length}`);
  }
  const inputs = new Float32Array(lines.length * pixels);
  const labels = new Int32Array(lines.length);
  lines.forEach((line, row) => {
    const cells = line.split(',');
    if (cells.length !== pixels + 1) {
      throw new Error(`${path}: line ${row + 1} has ${cells.length} cells, expected ${pixels + 1}`);
    }
    for (let p = 0; p < pixels; p += 1) {
      inputs[row * pixels + p] = numericCell(cells[p], path, row, `pixel ${p}`) / 16;
    }
    const label = numericCell(cells[pixels], path, row, 'label');
    if (!Number.isInteger(label) || label < 0 || label >= DIGIT_CLASSES) {
      throw new Error(`${path}: line ${row + 1} has label ${label}, expected an integer 0–9`);
    }
    labels[row] = label;
  });
  const slice = ([start, end]: readonly [number, number]): SequenceDataset => ({
    kind: 'sequences',
    inputs: inputs.slice(start * pixels, end * pixels),
    length: DIGIT_ROWS,
    channels: DIGIT_COLUMNS,
    labels: labels.slice(start, end),
  });
  return {
    train: slice(DIGITS_SPLIT.train),
    validation: slice(DIGITS_SPLIT.validation),
    test: slice(DIGITS_SPLIT.test),
  };
}
