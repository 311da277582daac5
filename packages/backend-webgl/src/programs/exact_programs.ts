import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import type { CallDims } from './call_dims.js';
import {
  glslProgram,
  type KeyGradient,
  keyGradientProgram,
  mainOverOutput,
  ZERO_DENOMINATOR,
} from './glsl.js';

/**
 * Exact EA (`order: 'exact'`), quadratic in L: `y_i = Σ_j m_j w_ij v_j / Σ_j m_j w_ij`,
 * `w_ij = exp(-(q_i - k_j)²)` over the keys query i sees (unmasked, and `j ≤ i` when causal).
 *
 * Stabilised as the contract requires: the exponent is shifted by the smallest visible
 * `(q_i - k_j)²`, so the largest weight is exactly 1 and the denominator is at least 1 whenever a
 * key is visible, however far q and k lie from 0. A query that sees no key has denominator 0: it
 * outputs 0 and passes no gradient (the zero-denominator rule). With `p_ij` the normalised
 * weights, the gradients are
 *
 *     dv_j = Σ_i g_i p_ij     dq_i = -Σ_j 2 (q_i - k_j) p_ij (v_j - y_i) g_i     dk_j = -Σ_i (same term)
 */

/** GLSL running `body` for every key j query i of (b, d) sees, with `gap = query - k_j`. */
function forEachVisibleKey({ keys, causal }: CallDims, body: string): string {
  return `
    for (int j = 0; j < ${keys}; j++) {
      if (j > ${causal ? 'i' : keys - 1}) break;
      if (getMask(b, j) == 0.0) continue;
      float gap = query - getK(b, j, d);
      ${body}
    }
  `;
}

/** GLSL declaring `shift`, `denominator` and `numerator` for query `query` of (b, i, d). */
function queryWeights(dims: CallDims): string {
  return `
    float shift = 0.0;
    bool seen = false;
    ${forEachVisibleKey(
      dims,
      `
      shift = seen ? min(shift, gap * gap) : gap * gap;
      seen = true;
    `,
    )}
    float numerator = 0.0;
    float denominator = 0.0;
    ${forEachVisibleKey(
      dims,
      `
      float weight = exp(shift - gap * gap);
      numerator += weight * getV(b, j, d);
      denominator += weight;
    `,
    )}
  `;
}

/**
 * The query side of exact EA: the output y `[B, Lq, D]` (`'y'`, the forward), or per query
 * `[B, Lq, 3, D]` (`'stats'`) the shift (row 0), the shifted denominator (row 1, 0 when no key is
 * visible) and y (row 2), which the gradient programs read instead of recomputing.
 */
export function exactQueryProgram(dims: CallDims, output: 'y' | 'stats'): GPGPUProgram {
  const { batch, queries, channels } = dims;
  const stats = output === 'stats';
  return glslProgram(
    ['q', 'k', 'v', 'mask'],
    stats ? [batch, queries, 3, channels] : [batch, queries, channels],
    `
    ${ZERO_DENOMINATOR}
    ${mainOverOutput(
      stats ? ['b', 'i', 'slot', 'd'] : ['b', 'i', 'd'],
      `
      float query = getQ(b, i, d);
      ${queryWeights(dims)}
      float y = quotientOrZero(numerator, denominator);
      setOutput(${stats ? 'slot == 0 ? shift : slot == 1 ? denominator : y' : 'y'});
    `,
    )}
  `,
  );
}

/** `dq`, `[B, Lq, D]`: one query against every key it sees. */
export function exactQueryGradientProgram(dims: CallDims): GPGPUProgram {
  return glslProgram(
    ['q', 'k', 'v', 'mask', 'dy', 'stats'],
    [dims.batch, dims.queries, dims.channels],
    `
    ${ZERO_DENOMINATOR}
    ${mainOverOutput(
      ['b', 'i', 'd'],
      `
      float denominator = getStats(b, i, 1, d);
      float sum = 0.0;
      if (!isZeroDenominator(denominator)) {
        float query = getQ(b, i, d);
        float shift = getStats(b, i, 0, d);
        float y = getStats(b, i, 2, d);
        ${forEachVisibleKey(
          dims,
          `
          float p = exp(shift - gap * gap) / denominator;
          sum += gap * p * (getV(b, j, d) - y);
        `,
        )}
        sum *= -2.0 * getDy(b, i, d);
      }
      setOutput(sum);
    `,
    )}
  `,
  );
}

/** `dk` or `dv`, `[B, L, D]`: one key against every query that sees it. */
export function exactKeyGradientProgram(dims: CallDims, gradient: KeyGradient): GPGPUProgram {
  const accumulate = {
    dk: 'sum += 2.0 * (query - key) * p * (value - getStats(b, i, 2, d)) * g;',
    dv: 'sum += g * p;',
  }[gradient];
  return keyGradientProgram(
    dims,
    ['q', 'k', 'v', 'mask', 'dy', 'stats'],
    ZERO_DENOMINATOR,
    `
      float sum = 0.0;
      for (int i = ${dims.causal ? 'j' : '0'}; i < ${dims.queries}; i++) {
        float denominator = getStats(b, i, 1, d);
        if (isZeroDenominator(denominator)) continue;
        float query = getQ(b, i, d);
        float gap = query - key;
        float p = exp(getStats(b, i, 0, d) - gap * gap) / denominator;
        float g = getDy(b, i, d);
        ${accumulate}
      }
      setOutput(sum);
    `,
  );
}
