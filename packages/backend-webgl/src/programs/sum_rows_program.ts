import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { glslProgram, mainOverOutput } from './glsl.js';

/** Rows summed per pass of the reduction over L. */
export const SUM_GROUP = 16;

/**
 * One pass of a tree reduction along axis 1 of `[B, R, W, D]`: row i of the output is the sum of
 * input rows `i·group … i·group + group - 1`. Repeated until one row is left, it sums a sequence
 * with rounding that grows with `group·log_group L`, not with L. One pass also gives the chunk
 * totals of the chunked scan.
 */
export function sumRowsProgram(shape: number[], group = SUM_GROUP): GPGPUProgram {
  const [batch, rows, width, channels] = shape;
  return glslProgram(
    ['x'],
    [batch, Math.ceil(rows / group), width, channels],
    mainOverOutput(
      ['b', 'row', 'w', 'd'],
      `
      int first = row * ${group};
      float sum = 0.0;
      for (int m = 0; m < ${group}; m++) {
        if (first + m >= ${rows}) break;
        sum += getX(b, first + m, w, d);
      }
      setOutput(sum);
    `,
    ),
  );
}
