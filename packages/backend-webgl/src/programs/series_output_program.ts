import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import type { CallDims } from './call_dims.js';
import { glslProgram } from './glsl.js';
import { mainReadingQuery } from './series_read.js';

/**
 * The series output `y_i = N_i / M_i`, `[B, Lq, D]`, from the moments `[B, R, 2T, D]` (R = L
 * prefix sums when causal, R = 1 totals otherwise) plus the initial state; 0 where `M_i` is 0.
 */
export function seriesOutputProgram(dims: CallDims): GPGPUProgram {
  return glslProgram(
    ['q', 'moments', 'initialS', 'initialZ'],
    [dims.batch, dims.queries, dims.channels],
    mainReadingQuery(dims, ['b', 'i', 'd'], 'setOutput(quotientOrZero(numerator, denominator));'),
  );
}
