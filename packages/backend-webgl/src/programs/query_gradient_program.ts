import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { taylorDeclaration } from './glsl.js';

/**
 * `dq_i = Σ_{n≥1} n a_n q_i^{n-1} (α_i S_n(i) + β_i Z_n(i))`, `[B, Lq, D]`, in Horner form, from
 * the moments (with the initial state) and the per-query `α, β`. For a query read divided by
 * q^t: `dq = -r Σ_n (t-n) a_n r^{t-n} (α S_n + β Z_n)`, r = 1/q (from ∂q = -r² ∂/∂r), which has no
 * n = t term to cancel against the others and lose |q| ulps.
 */
export class QueryGradientProgram implements GPGPUProgram {
  readonly variableNames = ['q', 'adjoint', 'moments', 'initialS', 'initialZ'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, queries: number, terms: number, channels: number, causal: boolean) {
    this.outputShape = [batch, queries, channels];
    this.userCode = `
      ${taylorDeclaration(terms)}
      void main() {
        ivec3 coords = getOutputCoords();
        int b = coords.x;
        int i = coords.y;
        int d = coords.z;
        int row = ${causal ? 'i' : '0'};
        float query = getQ(b, i, d);
        float alpha = getAdjoint(b, i, 0, d);
        float beta = getAdjoint(b, i, 1, d);
        float sum = 0.0;
        if (getAdjoint(b, i, 2, d) != 0.0) {
          float inverse = 1.0 / query;
          for (int n = 0; n < ${terms}; n++) {
            float s = getInitialS(b, n, d) + getMoments(b, row, n, d);
            float z = getInitialZ(b, n, d) + getMoments(b, row, ${terms} + n, d);
            sum = sum * inverse + float(${terms - 1} - n) * taylor[n] * (alpha * s + beta * z);
          }
          setOutput(-inverse * sum);
          return;
        }
        for (int n = ${terms - 1}; n >= 1; n--) {
          float s = getInitialS(b, n, d) + getMoments(b, row, n, d);
          float z = getInitialZ(b, n, d) + getMoments(b, row, ${terms} + n, d);
          sum = sum * query + float(n) * taylor[n] * (alpha * s + beta * z);
        }
        setOutput(sum);
      }
    `;
  }
}
