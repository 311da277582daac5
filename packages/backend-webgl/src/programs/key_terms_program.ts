import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import type { CallDims } from './call_dims.js';
import { glslProgram, keyFeatureDeclaration, mainOverOutput, SKIP_MASKED_KEY } from './glsl.js';

/**
 * Each key's contribution to the moments, `[B, L, 2T, D]`: `m_j f_n(k_j) v_j` in rows `n < T`
 * and `m_j f_n(k_j)` in rows `T + n`, with `f_n(k) = k^n e^{-k²}`. Summed over keys (or scanned,
 * when causal) they are `S_n` and `Z_n`.
 */
export function keyTermsProgram(dims: CallDims): GPGPUProgram {
  const { terms } = dims;
  return glslProgram(
    ['k', 'v', 'mask'],
    [dims.batch, dims.keys, 2 * terms, dims.channels],
    `
    ${keyFeatureDeclaration(terms)}
    ${mainOverOutput(
      ['b', 'j', 'row', 'd'],
      `
      ${SKIP_MASKED_KEY}
      float feature = keyFeature(getK(b, j, d), row < ${terms} ? row : row - ${terms});
      setOutput(row < ${terms} ? feature * getV(b, j, d) : feature);
    `,
    )}
  `,
  );
}
