import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';

/**
 * Each key's contribution to the moments, `[B, L, 2T, D]`: `m_j f_n(k_j) v_j` in rows `n < T`
 * and `m_j f_n(k_j)` in rows `T + n`, with `f_n(k) = k^n e^{-k²}`. Summed over keys (or scanned,
 * when causal) they are `S_n` and `Z_n`.
 *
 * `k^n e^{-k²}` is built as `e^{-k²}·k·k…`, so a key whose `e^{-k²}` underflowed contributes an
 * exact 0 however large `k^n` would be.
 */
export class KeyTermsProgram implements GPGPUProgram {
  readonly variableNames = ['k', 'v', 'mask'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, keys: number, terms: number, channels: number) {
    this.outputShape = [batch, keys, 2 * terms, channels];
    this.userCode = `
      void main() {
        ivec4 coords = getOutputCoords();
        int b = coords.x;
        int j = coords.y;
        int row = coords.z;
        int d = coords.w;
        int n = row < ${terms} ? row : row - ${terms};
        // A masked key is absent: never read, so a NaN or ±∞ it holds reaches no moment.
        if (getMask(b, j) == 0.0) {
          setOutput(0.0);
          return;
        }
        float key = getK(b, j, d);
        float feature = exp(-key * key);
        for (int m = 0; m < ${terms}; m++) {
          if (m >= n) break;
          feature *= key;
        }
        setOutput(row < ${terms} ? feature * getV(b, j, d) : feature);
      }
    `;
  }
}
