import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';

/**
 * A state `[B, T, D]`: `base_n + moments(row, half·T + n)`. With the initial state as base and the
 * last prefix row (or the totals) it is the final state; with the upstream `dFinal` as base and
 * row 0 of the suffix-summed adjoints (or their totals) it is the gradient of the initial state.
 * `half` 0 selects the S (or A) rows, 1 the Z (or B) rows.
 */
export class StateProgram implements GPGPUProgram {
  readonly variableNames = ['base', 'moments'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, terms: number, channels: number, row: number, half: 0 | 1) {
    this.outputShape = [batch, terms, channels];
    this.userCode = `
      void main() {
        ivec3 coords = getOutputCoords();
        setOutput(getBase(coords.x, coords.y, coords.z)
          + getMoments(coords.x, ${row}, ${half * terms} + coords.y, coords.z));
      }
    `;
  }
}
