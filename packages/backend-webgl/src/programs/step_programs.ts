import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { taylorDeclaration, USE_SCALED, ZERO_DENOMINATOR } from './glsl.js';

/**
 * One recurrent step's state update, `[B, T, D]`: `s'_n = s_n + f_n(k) v` (`valueWeighted`) or
 * `z'_n = z_n + f_n(k)`, with `f_n(k) = k^n e^{-k²}` built from `e^{-k²}` upward.
 */
export class StepStateProgram implements GPGPUProgram {
  readonly variableNames = ['k', 'v', 'state'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, terms: number, channels: number, valueWeighted: boolean) {
    this.outputShape = [batch, terms, channels];
    this.userCode = `
      void main() {
        ivec3 coords = getOutputCoords();
        int b = coords.x;
        int n = coords.y;
        int d = coords.z;
        float key = getK(b, d);
        float feature = exp(-key * key);
        for (int m = 0; m < ${terms}; m++) {
          if (m >= n) break;
          feature *= key;
        }
        setOutput(getState(b, n, d) + ${valueWeighted ? 'feature * getV(b, d)' : 'feature'});
      }
    `;
  }
}

/** One step's output `y = Σ a_n q^n s'_n / Σ a_n q^n z'_n`, `[B, D]`; 0 where the denominator is. */
export class StepOutputProgram implements GPGPUProgram {
  readonly variableNames = ['q', 's', 'z'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, terms: number, channels: number) {
    this.outputShape = [batch, channels];
    this.userCode = `
      ${taylorDeclaration(terms)}
      ${ZERO_DENOMINATOR}
      ${USE_SCALED}
      void main() {
        ivec2 coords = getOutputCoords();
        int b = coords.x;
        int d = coords.y;
        float query = getQ(b, d);
        float numerator = 0.0;
        float denominator = 0.0;
        for (int n = ${terms - 1}; n >= 0; n--) {
          numerator = numerator * query + taylor[n] * getS(b, n, d);
          denominator = denominator * query + taylor[n] * getZ(b, n, d);
        }
        // Large |q|: both divided by q^t, Horner in 1/q (glsl.ts, USE_SCALED).
        float inverse = 1.0 / query;
        float scaledNumerator = 0.0;
        float scaledDenominator = 0.0;
        for (int n = 0; n < ${terms}; n++) {
          scaledNumerator = scaledNumerator * inverse + taylor[n] * getS(b, n, d);
          scaledDenominator = scaledDenominator * inverse + taylor[n] * getZ(b, n, d);
        }
        if (useScaled(query, denominator, scaledDenominator)) {
          numerator = scaledNumerator;
          denominator = scaledDenominator;
        }
        setOutput(isZeroDenominator(denominator) ? 0.0 : numerator / denominator);
      }
    `;
  }
}
