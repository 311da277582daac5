import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import type { CallDims } from './call_dims.js';
import { glslProgram, mainOverOutput, taylorDeclaration } from './glsl.js';

/**
 * Each query's contribution to the key-side adjoints, `[B, Lq, 2T, D]`: `α_i a_n q_i^n` in rows
 * `n < T` (summed: `A_n`) and `β_i a_n q_i^n` in rows `T + n` (summed: `B_n`); `a_n q_i^{n-t}`
 * instead for a query read divided by q^t. `α a_n q^n` is a running product from α: `a_n q^n`
 * alone can overflow where the product does not.
 */
export function queryTermsProgram(dims: CallDims): GPGPUProgram {
  const { terms } = dims;
  return glslProgram(
    ['q', 'adjoint'],
    [dims.batch, dims.queries, 2 * terms, dims.channels],
    `
    ${taylorDeclaration(terms)}
    ${mainOverOutput(
      ['b', 'i', 'row', 'd'],
      `
      bool first = row < ${terms};
      int n = first ? row : row - ${terms};
      float query = getQ(b, i, d);
      float weight = getAdjoint(b, i, first ? 0 : 1, d);
      if (getAdjoint(b, i, 2, d) != 0.0) {
        // a_n r^{t-n}, r = 1/q
        float inverse = 1.0 / query;
        weight *= taylor[n];
        for (int m = 0; m < ${terms}; m++) {
          if (m >= ${terms - 1} - n) break;
          weight *= inverse;
        }
      } else {
        // a_{m+1} q^{m+1} = a_m q^m · 2q/(m+1)
        for (int m = 0; m < ${terms}; m++) {
          if (m >= n) break;
          weight *= query * 2.0 / float(m + 1);
        }
      }
      setOutput(weight);
    `,
    )}
  `,
  );
}
