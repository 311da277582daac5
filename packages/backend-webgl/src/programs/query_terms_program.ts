import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { taylorDeclaration } from './glsl.js';

/**
 * Each query's contribution to the key-side adjoints, `[B, Lq, 2T, D]`: `α_i a_n q_i^n` in rows
 * `n < T` (summed: `A_n`) and `β_i a_n q_i^n` in rows `T + n` (summed: `B_n`).
 */
export class QueryTermsProgram implements GPGPUProgram {
  readonly variableNames = ['q', 'adjoint'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, queries: number, terms: number, channels: number) {
    this.outputShape = [batch, queries, 2 * terms, channels];
    this.userCode = `
      ${taylorDeclaration(terms)}
      void main() {
        ivec4 coords = getOutputCoords();
        int b = coords.x;
        int i = coords.y;
        int row = coords.z;
        int d = coords.w;
        bool first = row < ${terms};
        int n = first ? row : row - ${terms};
        float query = getQ(b, i, d);
        float power = 1.0;
        for (int m = 0; m < ${terms}; m++) {
          if (m >= n) break;
          power *= query;
        }
        float weight = getAdjoint(b, i, first ? 0 : 1, d);
        setOutput(weight * taylor[n] * power);
      }
    `;
  }
}
