import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import type { CallDims } from './call_dims.js';
import { glslProgram } from './glsl.js';
import { mainReadingQuery } from './series_read.js';

/**
 * Per query, `[B, Lq, 3, D]`: `α_i = g_i / M_i` (row 0), `β_i = -g_i y_i / M_i` (row 1), with
 * g = dy, and 1 in row 2 where the query was read divided by q^t (then α, β carry q^t, and the
 * programs that use them take the query terms divided by q^t too). α and β are 0 where `M_i` is
 * 0, which is what gives such a query zero gradients.
 */
export function queryAdjointProgram(dims: CallDims): GPGPUProgram {
  return glslProgram(
    ['q', 'dy', 'moments', 'initialS', 'initialZ'],
    [dims.batch, dims.queries, 3, dims.channels],
    mainReadingQuery(
      dims,
      ['b', 'i', 'slot', 'd'],
      `
      float result = 0.0;
      if (slot == 2) {
        result = scaled ? 1.0 : 0.0;
      } else if (!isZeroDenominator(denominator)) {
        float alpha = getDy(b, i, d) / denominator;
        result = slot == 0 ? alpha : -alpha * (numerator / denominator);
      }
      setOutput(result);
    `,
    ),
  );
}
