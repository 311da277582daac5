import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';

/**
 * Exact EA (`order: 'exact'`), quadratic in L: `y_i = Σ_j m_j w_ij v_j / Σ_j m_j w_ij`,
 * `w_ij = exp(-(q_i - k_j)²)` over the keys query i sees (unmasked, and `j ≤ i` when causal).
 *
 * Stabilised as the contract requires: the exponent is shifted by the smallest visible
 * `(q_i - k_j)²`, so the largest weight is exactly 1 and the denominator is at least 1 whenever a
 * key is visible, however far q and k lie from 0. A query that sees no key outputs 0 and passes no
 * gradient. With `p_ij` the normalised weights, the gradients are
 *
 *     dv_j = Σ_i g_i p_ij     dq_i = -Σ_j 2 (q_i - k_j) p_ij (v_j - y_i) g_i     dk_j = -Σ_i (same term)
 */

/** GLSL declaring `shift`, `denominator` and `numerator` for query `query` of (b, i, d). */
function queryWeights(keys: number, causal: boolean): string {
  const last = causal ? 'i' : `${keys - 1}`;
  return `
    float shift = 0.0;
    bool seen = false;
    for (int j = 0; j < ${keys}; j++) {
      if (j > ${last}) break;
      if (getMask(b, j) == 0.0) continue;
      float gap = query - getK(b, j, d);
      shift = seen ? min(shift, gap * gap) : gap * gap;
      seen = true;
    }
    float numerator = 0.0;
    float denominator = 0.0;
    for (int j = 0; j < ${keys}; j++) {
      if (j > ${last}) break;
      if (getMask(b, j) == 0.0) continue;
      float gap = query - getK(b, j, d);
      float weight = exp(shift - gap * gap);
      numerator += weight * getV(b, j, d);
      denominator += weight;
    }
  `;
}

/** Exact forward output `[B, Lq, D]`. */
export class ExactForwardProgram implements GPGPUProgram {
  readonly variableNames = ['q', 'k', 'v', 'mask'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, queries: number, keys: number, channels: number, causal: boolean) {
    this.outputShape = [batch, queries, channels];
    this.userCode = `
      void main() {
        ivec3 coords = getOutputCoords();
        int b = coords.x;
        int i = coords.y;
        int d = coords.z;
        float query = getQ(b, i, d);
        ${queryWeights(keys, causal)}
        setOutput(seen ? numerator / denominator : 0.0);
      }
    `;
  }
}

/**
 * Per query, `[B, Lq, 3, D]`: the shift (row 0), the shifted denominator (row 1, 0 when no key is
 * visible) and the output y (row 2), which the gradient programs read instead of recomputing.
 */
export class ExactQueryStatsProgram implements GPGPUProgram {
  readonly variableNames = ['q', 'k', 'v', 'mask'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, queries: number, keys: number, channels: number, causal: boolean) {
    this.outputShape = [batch, queries, 3, channels];
    this.userCode = `
      void main() {
        ivec4 coords = getOutputCoords();
        int b = coords.x;
        int i = coords.y;
        int d = coords.w;
        float query = getQ(b, i, d);
        ${queryWeights(keys, causal)}
        float result = coords.z == 0 ? shift : coords.z == 1 ? denominator
          : (seen ? numerator / denominator : 0.0);
        setOutput(seen ? result : 0.0);
      }
    `;
  }
}

/** `dq`, `[B, Lq, D]`: one query against every key it sees. */
export class ExactQueryGradientProgram implements GPGPUProgram {
  readonly variableNames = ['q', 'k', 'v', 'mask', 'dy', 'stats'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(batch: number, queries: number, keys: number, channels: number, causal: boolean) {
    this.outputShape = [batch, queries, channels];
    const last = causal ? 'i' : `${keys - 1}`;
    this.userCode = `
      void main() {
        ivec3 coords = getOutputCoords();
        int b = coords.x;
        int i = coords.y;
        int d = coords.z;
        float denominator = getStats(b, i, 1, d);
        float sum = 0.0;
        if (denominator > 0.0) {
          float query = getQ(b, i, d);
          float shift = getStats(b, i, 0, d);
          float y = getStats(b, i, 2, d);
          for (int j = 0; j < ${keys}; j++) {
            if (j > ${last}) break;
            if (getMask(b, j) == 0.0) continue;
            float gap = query - getK(b, j, d);
            float p = exp(shift - gap * gap) / denominator;
            sum += gap * p * (getV(b, j, d) - y);
          }
          sum *= -2.0 * getDy(b, i, d);
        }
        setOutput(sum);
      }
    `;
  }
}

/** `dk` or `dv`, `[B, L, D]`: one key against every query that sees it. */
export class ExactKeyGradientProgram implements GPGPUProgram {
  readonly variableNames = ['q', 'k', 'v', 'mask', 'dy', 'stats'];
  readonly outputShape: number[];
  readonly userCode: string;

  constructor(
    batch: number,
    queries: number,
    keys: number,
    channels: number,
    causal: boolean,
    gradient: 'dk' | 'dv',
  ) {
    this.outputShape = [batch, keys, channels];
    const first = causal ? 'j' : '0';
    const accumulate =
      gradient === 'dv'
        ? 'sum += g * p;'
        : 'sum += 2.0 * (query - key) * p * (value - getStats(b, i, 2, d)) * g;';
    this.userCode = `
      void main() {
        ivec3 coords = getOutputCoords();
        int b = coords.x;
        int j = coords.y;
        int d = coords.z;
        float sum = 0.0;
        if (getMask(b, j) != 0.0) {
          float key = getK(b, j, d);
          float value = getV(b, j, d);
          for (int i = ${first}; i < ${queries}; i++) {
            float denominator = getStats(b, i, 1, d);
            if (!(denominator > 0.0)) continue;
            float query = getQ(b, i, d);
            float gap = query - key;
            float p = exp(getStats(b, i, 0, d) - gap * gap) / denominator;
            float g = getDy(b, i, d);
            ${accumulate}
          }
        }
        setOutput(sum);
      }
    `;
  }
}
