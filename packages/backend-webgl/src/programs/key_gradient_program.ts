import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import type { CallDims } from './call_dims.js';
import { type KeyGradient, keyGradientProgram } from './glsl.js';
import { baseAndMoments } from './series_read.js';

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
export function seriesKeyGradientProgram(dims: CallDims, gradient: KeyGradient): GPGPUProgram {
  const { terms, causal } = dims;
  const adjoints = baseAndMoments(terms, ['dFinalS', 'dFinalZ'], 'adjoints');
  const accumulate = {
    dk: 'sum += (float(n) * previous - 2.0 * power * key) * (value * A + B);',
    dv: 'sum += power * A;',
  }[gradient];
  return keyGradientProgram(
    dims,
    ['k', 'v', 'mask', 'adjoints', 'dFinalS', 'dFinalZ'],
    '',
    `
      int row = ${causal ? 'j' : '0'};
      float previous = 0.0;           // k^{n-1} e^{-k²}
      float power = exp(-key * key);  // k^n e^{-k²}
      float sum = 0.0;
      for (int n = 0; n < ${terms}; n++) {
        float A = ${adjoints.s('n')};
        float B = ${adjoints.z('n')};
        ${accumulate}
        previous = power;
        power *= key;
      }
      setOutput(sum);
    `,
  );
}
