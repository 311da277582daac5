import type { ElementwiseAttentionProgram } from './program.js';
import { packedWrite, perElementProgram, ZERO_DENOMINATOR_WGSL } from './wgsl.js';

/**
 * Exact (quadratic) EA, one invocation per output element, O(L) work each:
 *
 *     y_i = Σ_j w_ij v_j / Σ_j w_ij,   w_ij = exp(shift_i - (q_i - k_j)²)
 *
 * where shift_i is the smallest visible (q_i - k_j)²: the largest weight is exactly 1, so the
 * denominator is >= 1 whenever query i sees a key and cannot underflow, and is 0 only when it
 * sees none (then y = 0 and no gradient flows: the zero-denominator rule). Query i sees unmasked
 * keys j (j <= i if causal).
 */

/** shift, Σ w and Σ w v of query (b, i, c) as vec3. */
const QUERY_STATISTICS = (causal: boolean) => `
  ${ZERO_DENOMINATOR_WGSL}
  fn lastKey(i : i32) -> i32 {
    return ${causal ? 'i' : 'uniforms.kInShape.y - 1'};
  }
  fn queryStatistics(b : i32, i : i32, c : i32) -> vec3<f32> {
    let keys = uniforms.kInShape.y;
    let channels = uniforms.kInShape.z;
    let q = f32(qIn[(b * uniforms.qInShape.y + i) * channels + c]);
    var shift = 3.0e38;
    for (var j = 0; j <= lastKey(i); j++) {
      if (f32(maskIn[b * keys + j]) == 0.0) { continue; }
      let difference = q - f32(kIn[(b * keys + j) * channels + c]);
      shift = min(shift, difference * difference);
    }
    var total = 0.0;
    var weighted = 0.0;
    for (var j = 0; j <= lastKey(i); j++) {
      if (f32(maskIn[b * keys + j]) == 0.0) { continue; }
      let at = (b * keys + j) * channels + c;
      let difference = q - f32(kIn[at]);
      let w = exp(shift - difference * difference);
      total += w;
      weighted += w * f32(vIn[at]);
    }
    return vec3<f32>(shift, total, weighted);
  }
`;

/** y [B, Lq, D]. */
export function exactForwardProgram(
  causal: boolean,
  queryShape: number[],
): ElementwiseAttentionProgram {
  return perElementProgram({
    key: `exact_forward_${causal}`,
    variableNames: ['qIn', 'kIn', 'vIn', 'maskIn'],
    over: 'qIn',
    overShape: queryShape,
    outputShape: queryShape,
    declarations: QUERY_STATISTICS(causal),
    body: `
    let statistics = queryStatistics(at.x, at.y, at.z);
    result[index] = quotientOrZero(statistics.z, statistics.y);`,
  });
}

/**
 * Per query, packed [B, Lq, 4, D]: (∂q, shift, Σ w, y). With p_ij = w_ij / Σ_j w_ij and
 * G_ij = g_i p_ij (v_j - y_i) 2 (q_i - k_j): ∂q_i = -Σ_j G_ij.
 */
export function exactQueryProgram(
  causal: boolean,
  queryShape: number[],
): ElementwiseAttentionProgram {
  const [batch, queries, channels] = queryShape;
  return perElementProgram({
    key: `exact_query_${causal}`,
    variableNames: ['qIn', 'kIn', 'vIn', 'maskIn', 'dyIn'],
    over: 'qIn',
    overShape: queryShape,
    outputShape: [batch, queries, 4, channels],
    declarations: `${QUERY_STATISTICS(causal)}${packedWrite(4)}`,
    body: `
    let b = at.x;
    let i = at.y;
    let c = at.z;
    let statistics = queryStatistics(b, i, c);
    let shift = statistics.x;
    let total = statistics.y;
    let y = quotientOrZero(statistics.z, total);
    var dq = 0.0;
    if (!isZeroDenominator(total)) {
      let keys = uniforms.kInShape.y;
      let q = f32(qIn[index]);
      let g = f32(dyIn[index]);
      for (var j = 0; j <= lastKey(i); j++) {
        if (f32(maskIn[b * keys + j]) == 0.0) { continue; }
        let keyAt = (b * keys + j) * shape.z + c;
        let difference = q - f32(kIn[keyAt]);
        let p = exp(shift - difference * difference) / total;
        dq -= 2.0 * difference * g * p * (f32(vIn[keyAt]) - y);
      }
    }
    writeSlots(b, i, c, shape.y, shape.z, vec4<f32>(dq, shift, total, y));`,
  });
}

/**
 * Per key, packed [B, L, 2, D]: (∂k, ∂v) with ∂k_j = Σ_i G_ij and ∂v_j = Σ_i g_i p_ij over the
 * queries that see key j, from the query statistics of `exactQueryProgram`.
 */
export function exactKeyProgram(causal: boolean, keyShape: number[]): ElementwiseAttentionProgram {
  const [batch, keys, channels] = keyShape;
  return perElementProgram({
    key: `exact_key_${causal}`,
    variableNames: ['qIn', 'dyIn', 'queryStatistics', 'kIn', 'vIn', 'maskIn'],
    over: 'kIn',
    overShape: keyShape,
    outputShape: [batch, keys, 2, channels],
    declarations: `${ZERO_DENOMINATOR_WGSL}${packedWrite(2)}`,
    body: `
    let b = at.x;
    let j = at.y;
    let c = at.z;
    let channels = shape.z;
    let queries = uniforms.qInShape.y;
    var dk = 0.0;
    var dv = 0.0;
    if (f32(maskIn[b * shape.y + j]) != 0.0) {
      let k = f32(kIn[index]);
      let v = f32(vIn[index]);
      for (var i = ${causal ? 'j' : '0'}; i < queries; i++) {
        let packed = ((b * queries + i) * 4) * channels + c;
        let total = queryStatistics[packed + 2 * channels];
        if (isZeroDenominator(total)) { continue; }
        let shift = queryStatistics[packed + channels];
        let y = queryStatistics[packed + 3 * channels];
        let query = (b * queries + i) * channels + c;
        let difference = f32(qIn[query]) - k;
        let gp = f32(dyIn[query]) * exp(shift - difference * difference) / total;
        dv += gp;
        dk += 2.0 * difference * gp * (v - y);
      }
    }
    writeSlots(b, j, c, shape.y, channels, vec2<f32>(dk, dv));`,
  });
}
