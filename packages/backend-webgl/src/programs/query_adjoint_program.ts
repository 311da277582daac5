import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { taylorDeclaration, USE_SCALED, ZERO_DENOMINATOR } from './glsl.js';
import { readNumeratorAndDenominator } from './series_read.js';

/**
 * Per query, `[B, Lq, 3, D]`: `α_i = g_i / M_i` (row 0), `β_i = -g_i y_i / M_i` (row 1), with
 * g = dy, and 1 in row 2 where the query was read divided by q^t (then α, β carry q^t, and the
 * programs that use them take the query terms divided by q^t too). α and β are 0 where `M_i` is
 * 0, which is what gives such a query zero gradients.
 */
export class QueryAdjointProgram implements GPGPUProgram {
  readonly variableNames = ['q', 'dy', 'moments', 'initialS', 'initialZ'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, queries: number, terms: number, channels: number, causal: boolean) {
    this.outputShape = [batch, queries, 3, channels];
    this.userCode = `
      ${taylorDeclaration(terms)}
      ${ZERO_DENOMINATOR}
      ${USE_SCALED}
      void main() {
        ivec4 coords = getOutputCoords();
        int b = coords.x;
        int i = coords.y;
        int d = coords.w;
        int row = ${causal ? 'i' : '0'};
        float query = getQ(b, i, d);
        ${readNumeratorAndDenominator(terms)}
        float result = 0.0;
        if (coords.z == 2) {
          result = scaled ? 1.0 : 0.0;
        } else if (!isZeroDenominator(denominator)) {
          float alpha = getDy(b, i, d) / denominator;
          result = coords.z == 0 ? alpha : -alpha * (numerator / denominator);
        }
        setOutput(result);
      }
    `;
  }
}
