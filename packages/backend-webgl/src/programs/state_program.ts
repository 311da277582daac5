import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import type { CallDims } from './call_dims.js';
import { glslProgram, mainOverOutput } from './glsl.js';

/**
 * A state `[B, T, D]`: `base_n + moments(row, half·T + n)`. With the initial state as base and the
 * last prefix row (or the totals) it is the final state; with the upstream `dFinal` as base and
 * row 0 of the suffix-summed adjoints (or their totals) it is the gradient of the initial state.
 * `half` 0 selects the S (or A) rows, 1 the Z (or B) rows.
 */
export function stateProgram(dims: CallDims, row: number, half: 0 | 1): GPGPUProgram {
  return glslProgram(
    ['base', 'moments'],
    [dims.batch, dims.terms, dims.channels],
    mainOverOutput(
      ['b', 'n', 'd'],
      `setOutput(getBase(b, n, d) + getMoments(b, ${row}, ${half * dims.terms} + n, d));`,
    ),
  );
}
