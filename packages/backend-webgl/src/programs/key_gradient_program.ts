import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { glslProgram, mainOverOutput, SKIP_MASKED_KEY } from './glsl.js';
import { baseAndMoments } from './series_read.js';

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
export function keyGradientProgram(
  batch: number,
  keys: number,
  terms: number,
  channels: number,
  causal: boolean,
  gradient: KeyGradient,
): GPGPUProgram {
  const adjoints = baseAndMoments(terms, ['dFinalS', 'dFinalZ'], 'adjoints');
  const accumulate =
    gradient === 'dv'
      ? 'sum += power * A;'
      : 'sum += (float(n) * previous - 2.0 * power * key) * (value * A + B);';
  return glslProgram(
    ['k', 'v', 'mask', 'adjoints', 'dFinalS', 'dFinalZ'],
    [batch, keys, channels],
    mainOverOutput(
      ['b', 'j', 'd'],
      `
      int row = ${causal ? 'j' : '0'};
      ${SKIP_MASKED_KEY}
      float key = getK(b, j, d);
      float value = getV(b, j, d);
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
    ),
  );
}
