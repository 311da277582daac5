import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import type { CallDims } from './call_dims.js';
import { glslProgram, mainOverOutput, taylorDeclaration } from './glsl.js';
import { queryMoments } from './series_read.js';

/**
 * `dq_i = Σ_{n≥1} n a_n q_i^{n-1} (α_i S_n(i) + β_i Z_n(i))`, `[B, Lq, D]`, in Horner form, from
 * the moments (with the initial state) and the per-query `α, β`. For a query read divided by
 * q^t: `dq = -r Σ_n (t-n) a_n r^{t-n} (α S_n + β Z_n)`, r = 1/q (from ∂q = -r² ∂/∂r), which has no
 * n = t term to cancel against the others and lose |q| ulps.
 */
export function queryGradientProgram(dims: CallDims): GPGPUProgram {
  const { terms, causal } = dims;
  const moments = queryMoments(terms);
  const adjointTerm = `(alpha * (${moments.s('n')}) + beta * (${moments.z('n')}))`;
  return glslProgram(
    ['q', 'adjoint', 'moments', 'initialS', 'initialZ'],
    [dims.batch, dims.queries, dims.channels],
    `
    ${taylorDeclaration(terms)}
    ${mainOverOutput(
      ['b', 'i', 'd'],
      `
      int row = ${causal ? 'i' : '0'};
      float query = getQ(b, i, d);
      float alpha = getAdjoint(b, i, 0, d);
      float beta = getAdjoint(b, i, 1, d);
      float sum = 0.0;
      if (getAdjoint(b, i, 2, d) != 0.0) {
        float inverse = 1.0 / query;
        for (int n = 0; n < ${terms}; n++) {
          sum = sum * inverse + float(${terms - 1} - n) * taylor[n] * ${adjointTerm};
        }
        setOutput(-inverse * sum);
        return;
      }
      for (int n = ${terms - 1}; n >= 1; n--) {
        sum = sum * query + float(n) * taylor[n] * ${adjointTerm};
      }
      setOutput(sum);
    `,
    )}
  `,
  );
}
