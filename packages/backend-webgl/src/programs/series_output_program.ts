import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { taylorDeclaration, USE_SCALED, ZERO_DENOMINATOR } from './glsl.js';
import { readNumeratorAndDenominator } from './series_read.js';

/**
 * The series output `y_i = N_i / M_i`, `[B, Lq, D]`, from the moments `[B, R, 2T, D]` (R = L
 * prefix sums when causal, R = 1 totals otherwise) plus the initial state; 0 where `M_i` is 0.
 */
export class SeriesOutputProgram implements GPGPUProgram {
  readonly variableNames = ['q', 'moments', 'initialS', 'initialZ'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, queries: number, terms: number, channels: number, causal: boolean) {
    this.outputShape = [batch, queries, channels];
    this.userCode = `
      ${taylorDeclaration(terms)}
      ${ZERO_DENOMINATOR}
      ${USE_SCALED}
      void main() {
        ivec3 coords = getOutputCoords();
        int b = coords.x;
        int i = coords.y;
        int d = coords.z;
        int row = ${causal ? 'i' : '0'};
        float query = getQ(b, i, d);
        ${readNumeratorAndDenominator(terms)}
        setOutput(isZeroDenominator(denominator) ? 0.0 : numerator / denominator);
      }
    `;
  }
}
