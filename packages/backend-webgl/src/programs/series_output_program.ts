import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { glslProgram, mainOverOutput } from './glsl.js';
import {
  queryMoments,
  readNumeratorAndDenominator,
  seriesReadDeclarations,
} from './series_read.js';

/**
 * The series output `y_i = N_i / M_i`, `[B, Lq, D]`, from the moments `[B, R, 2T, D]` (R = L
 * prefix sums when causal, R = 1 totals otherwise) plus the initial state; 0 where `M_i` is 0.
 */
export function seriesOutputProgram(
  batch: number,
  queries: number,
  terms: number,
  channels: number,
  causal: boolean,
): GPGPUProgram {
  return glslProgram(
    ['q', 'moments', 'initialS', 'initialZ'],
    [batch, queries, channels],
    `
    ${seriesReadDeclarations(terms)}
    ${mainOverOutput(
      ['b', 'i', 'd'],
      `
      int row = ${causal ? 'i' : '0'};
      float query = getQ(b, i, d);
      ${readNumeratorAndDenominator(terms, queryMoments(terms))}
      setOutput(quotientOrZero(numerator, denominator));
    `,
    )}
  `,
  );
}
