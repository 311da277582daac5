import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { glslProgram, mainOverOutput } from './glsl.js';

/** Rows per chunk of the chunked scan. */
export const SCAN_CHUNK = 16;

/**
 * The last pass of a chunked inclusive scan along axis 1 of `[B, L, W, D]`: row j is the sum of
 * the rows of its own chunk of {@link SCAN_CHUNK} up to j (from j to the chunk's end when
 * `reverse`: suffix sums), plus, when `withCarries`, the scanned total of the chunks before it
 * (after it) read from `carries` `[B, ⌈L/chunk⌉, W, D]`, which is itself the inclusive scan of the
 * chunk totals.
 *
 * The local sum is formed first and the carry added last, so a row's rounding is that of at most
 * `chunk` additions per level of chunks (⌈log_chunk L⌉ levels): prefix sums do not drift with L.
 */
export function chunkScanProgram(
  shape: number[],
  reverse: boolean,
  withCarries: boolean,
): GPGPUProgram {
  const length = shape[1];
  const chunks = Math.ceil(length / SCAN_CHUNK);
  const local = reverse
    ? `int end = min(start + ${SCAN_CHUNK}, ${length});
       for (int m = 0; m < ${SCAN_CHUNK}; m++) {
         if (row + m >= end) break;
         sum += getX(b, row + m, w, d);
       }`
    : `for (int m = 0; m < ${SCAN_CHUNK}; m++) {
         if (start + m > row) break;
         sum += getX(b, start + m, w, d);
       }`;
  const carry = !withCarries
    ? ''
    : reverse
      ? `if (chunk + 1 < ${chunks}) sum += getCarries(b, chunk + 1, w, d);`
      : 'if (chunk > 0) sum += getCarries(b, chunk - 1, w, d);';
  return glslProgram(
    withCarries ? ['x', 'carries'] : ['x'],
    shape,
    mainOverOutput(
      ['b', 'row', 'w', 'd'],
      `
      int chunk = row / ${SCAN_CHUNK};
      int start = chunk * ${SCAN_CHUNK};
      float sum = 0.0;
      ${local}
      ${carry}
      setOutput(sum);
    `,
    ),
  );
}
