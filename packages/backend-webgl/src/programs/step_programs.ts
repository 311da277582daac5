import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { glslProgram, keyFeatureDeclaration, mainOverOutput } from './glsl.js';
import { readNumeratorAndDenominator, seriesReadDeclarations } from './series_read.js';

/**
 * One recurrent step's state update, `[B, T, D]`: `s'_n = s_n + f_n(k) v` (`valueWeighted`) or
 * `z'_n = z_n + f_n(k)`.
 */
export function stepStateProgram(
  batch: number,
  terms: number,
  channels: number,
  valueWeighted: boolean,
): GPGPUProgram {
  return glslProgram(
    ['k', 'v', 'state'],
    [batch, terms, channels],
    `
    ${keyFeatureDeclaration(terms)}
    ${mainOverOutput(
      ['b', 'n', 'd'],
      `
      float feature = keyFeature(getK(b, d), n);
      setOutput(getState(b, n, d) + ${valueWeighted ? 'feature * getV(b, d)' : 'feature'});
    `,
    )}
  `,
  );
}

/** One step's output `y = Σ a_n q^n s'_n / Σ a_n q^n z'_n`, `[B, D]`; 0 where the denominator is. */
export function stepOutputProgram(batch: number, terms: number, channels: number): GPGPUProgram {
  const state = { s: (n: string) => `getS(b, ${n}, d)`, z: (n: string) => `getZ(b, ${n}, d)` };
  return glslProgram(
    ['q', 's', 'z'],
    [batch, channels],
    `
    ${seriesReadDeclarations(terms)}
    ${mainOverOutput(
      ['b', 'd'],
      `
      float query = getQ(b, d);
      ${readNumeratorAndDenominator(terms, state)}
      setOutput(quotientOrZero(numerator, denominator));
    `,
    )}
  `,
  );
}
