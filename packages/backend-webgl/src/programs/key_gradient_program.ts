import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';

export type KeyGradient = 'dk' | 'dv';

/**
 * Key-side gradients, `[B, L, D]`, from the adjoints `A_n(j) = dFinalS_n + Σ_{i∈I(j)} α_i a_n q_i^n`
 * and `B_n(j)` likewise with β (suffix sums when causal, totals otherwise):
 *
 *     dv_j = Σ_n m_j f_n(k_j) A_n(j)        dk_j = Σ_n m_j f_n'(k_j) (v_j A_n(j) + B_n(j))
 *     f_n'(k) = n k^{n-1} e^{-k²} - 2 k^{n+1} e^{-k²}
 *
 * The powers are carried as `k^n e^{-k²}` (starting from `e^{-k²}`), so an underflowed key gives
 * exact zeros instead of `inf · 0`.
 */
export class KeyGradientProgram implements GPGPUProgram {
  readonly variableNames = ['k', 'v', 'mask', 'adjoints', 'dFinalS', 'dFinalZ'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(
    batch: number,
    keys: number,
    terms: number,
    channels: number,
    causal: boolean,
    gradient: KeyGradient,
  ) {
    this.outputShape = [batch, keys, channels];
    const accumulate =
      gradient === 'dv'
        ? 'sum += power * A;'
        : 'sum += (float(n) * previous - 2.0 * power * key) * (value * A + B);';
    this.userCode = `
      void main() {
        ivec3 coords = getOutputCoords();
        int b = coords.x;
        int j = coords.y;
        int d = coords.z;
        int row = ${causal ? 'j' : '0'};
        // A masked key gets no gradient, whatever it holds (0 · NaN would be NaN).
        if (getMask(b, j) == 0.0) {
          setOutput(0.0);
          return;
        }
        float key = getK(b, j, d);
        float value = getV(b, j, d);
        float previous = 0.0;           // k^{n-1} e^{-k²}
        float power = exp(-key * key);  // k^n e^{-k²}
        float sum = 0.0;
        for (int n = 0; n < ${terms}; n++) {
          float A = getDFinalS(b, n, d) + getAdjoints(b, row, n, d);
          float B = getDFinalZ(b, n, d) + getAdjoints(b, row, ${terms} + n, d);
          ${accumulate}
          previous = power;
          power *= key;
        }
        setOutput(sum);
      }
    `;
  }
}
