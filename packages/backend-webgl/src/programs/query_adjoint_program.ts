import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { taylorDeclaration, ZERO_DENOMINATOR } from './glsl.js';
import { readNumeratorAndDenominator } from './series_read.js';

/**
 * Per query, `[B, Lq, 2, D]`: `α_i = g_i / M_i` (row 0) and `β_i = -g_i y_i / M_i` (row 1), with
 * g = dy. Both are 0 where `M_i` is 0, which is what gives such a query zero gradients.
 */
export class QueryAdjointProgram implements GPGPUProgram {
  readonly variableNames = ['q', 'dy', 'moments', 'initialS', 'initialZ'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, queries: number, terms: number, channels: number, causal: boolean) {
    this.outputShape = [batch, queries, 2, channels];
    this.userCode = `
      ${taylorDeclaration(terms)}
      ${ZERO_DENOMINATOR}
      void main() {
        ivec4 coords = getOutputCoords();
        int b = coords.x;
        int i = coords.y;
        int d = coords.w;
        int row = ${causal ? 'i' : '0'};
        float query = getQ(b, i, d);
        ${readNumeratorAndDenominator(terms)}
        float result = 0.0;
        if (!isZeroDenominator(denominator)) {
          float alpha = getDy(b, i, d) / denominator;
          result = coords.z == 0 ? alpha : -alpha * (numerator / denominator);
        }
        setOutput(result);
      }
    `;
  }
}
