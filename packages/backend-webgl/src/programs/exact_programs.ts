import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { glslProgram, mainOverOutput, SKIP_MASKED_KEY, ZERO_DENOMINATOR } from './glsl.js';

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
function forEachVisibleKey(keys: number, causal: boolean, body: string): string {
  return `
    for (int j = 0; j < ${keys}; j++) {
      if (j > ${causal ? 'i' : `${keys - 1}`}) break;
      if (getMask(b, j) == 0.0) continue;
      float gap = query - getK(b, j, d);
      ${body}
    }
  `;
}

/** GLSL declaring `shift`, `denominator` and `numerator` for query `query` of (b, i, d). */
function queryWeights(keys: number, causal: boolean): string {
  return `
    float shift = 0.0;
    bool seen = false;
    ${forEachVisibleKey(
      keys,
      causal,
      `
      shift = seen ? min(shift, gap * gap) : gap * gap;
      seen = true;
    `,
    )}
    float numerator = 0.0;
    float denominator = 0.0;
    ${forEachVisibleKey(
      keys,
      causal,
      `
      float weight = exp(shift - gap * gap);
      numerator += weight * getV(b, j, d);
      denominator += weight;
    `,
    )}
  `;
}

/** Exact forward output `[B, Lq, D]`. */
export function exactForwardProgram(
  batch: number,
  queries: number,
  keys: number,
  channels: number,
  causal: boolean,
): GPGPUProgram {
  return glslProgram(
    ['q', 'k', 'v', 'mask'],
    [batch, queries, channels],
    `
    ${ZERO_DENOMINATOR}
    ${mainOverOutput(
      ['b', 'i', 'd'],
      `
      float query = getQ(b, i, d);
      ${queryWeights(keys, causal)}
      setOutput(quotientOrZero(numerator, denominator));
    `,
    )}
  `,
  );
}

/**
 * Per query, `[B, Lq, 3, D]`: the shift (row 0), the shifted denominator (row 1, 0 when no key is
 * visible) and the output y (row 2), which the gradient programs read instead of recomputing.
 */
export function exactQueryStatsProgram(
  batch: number,
  queries: number,
  keys: number,
  channels: number,
  causal: boolean,
): GPGPUProgram {
  return glslProgram(
    ['q', 'k', 'v', 'mask'],
    [batch, queries, 3, channels],
    `
    ${ZERO_DENOMINATOR}
    ${mainOverOutput(
      ['b', 'i', 'slot', 'd'],
      `
      float query = getQ(b, i, d);
      ${queryWeights(keys, causal)}
      setOutput(slot == 0 ? shift : slot == 1 ? denominator
        : quotientOrZero(numerator, denominator));
    `,
    )}
  `,
  );
}

/** `dq`, `[B, Lq, D]`: one query against every key it sees. */
export function exactQueryGradientProgram(
  batch: number,
  queries: number,
  keys: number,
  channels: number,
  causal: boolean,
): GPGPUProgram {
  return glslProgram(
    ['q', 'k', 'v', 'mask', 'dy', 'stats'],
    [batch, queries, channels],
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
          keys,
          causal,
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
export function exactKeyGradientProgram(
  batch: number,
  queries: number,
  keys: number,
  channels: number,
  causal: boolean,
  gradient: 'dk' | 'dv',
): GPGPUProgram {
  const accumulate =
    gradient === 'dv'
      ? 'sum += g * p;'
      : 'sum += 2.0 * (query - key) * p * (value - getStats(b, i, 2, d)) * g;';
  return glslProgram(
    ['q', 'k', 'v', 'mask', 'dy', 'stats'],
    [batch, keys, channels],
    `
    ${ZERO_DENOMINATOR}
    ${mainOverOutput(
      ['b', 'j', 'd'],
      `
      ${SKIP_MASKED_KEY}
      float key = getK(b, j, d);
      float value = getV(b, j, d);
      float sum = 0.0;
      for (int i = ${causal ? 'j' : '0'}; i < ${queries}; i++) {
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
    )}
  `,
  );
}
