import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';

/** Rows summed per pass of the reduction over L. */
export const SUM_GROUP = 16;

/**
 * One pass of a tree reduction along axis 1 of `[B, R, W, D]`: row i of the output is the sum of
 * input rows `i·group … i·group + group - 1`. Repeated until one row is left, it sums a sequence
 * with rounding that grows with `group·log_group L`, not with L. One pass also gives the chunk
 * totals of the chunked scan.
 */
export class SumRowsProgram implements GPGPUProgram {
  readonly variableNames = ['x'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(shape: number[], group = SUM_GROUP) {
    const [batch, rows, width, channels] = shape;
    this.outputShape = [batch, Math.ceil(rows / group), width, channels];
    this.userCode = `
      void main() {
        ivec4 coords = getOutputCoords();
        int first = coords.y * ${group};
        float sum = 0.0;
        for (int m = 0; m < ${group}; m++) {
          if (first + m >= ${rows}) break;
          sum += getX(coords.x, first + m, coords.z, coords.w);
        }
        setOutput(sum);
      }
    `;
  }
}
