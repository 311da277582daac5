import { isZeroDenominator, ratio } from './common.js';
import type { BackwardRecord, ForwardRecord } from './records.js';

/**
 * Exact (quadratic) EA over flat float32 arrays, O(Lq·L·D) time:
 *
 *     y_ic = Σ_j w_ijc v_jc / Σ_j w_ijc,   w_ijc = exp(-(q_ic - k_jc)² + min_j (q_ic - k_jc)²)
 *
 * The shift by the smallest visible squared distance leaves the ratio unchanged and makes the
 * largest weight exactly 1, so the denominator is >= 1 whenever query i sees a key and cannot
 * underflow. Query i sees the unmasked keys (and only j <= i when causal).
 */

/** What both passes read: exact EA has no state, so its state arrays are empty. */
type ExactInputs = Pick<
  ForwardRecord<'exact'>,
  'q' | 'k' | 'v' | 'mask' | 'batch' | 'queries' | 'keys' | 'channels' | 'causal'
>;

/** Per-channel statistics of one query row, each [D]. */
interface QueryRow {
  /** smallest visible (q - k)², +∞ when nothing is visible */
  readonly shift: Float64Array;
  /** Σ_j w */
  readonly total: Float64Array;
  /** Σ_j w v */
  readonly weighted: Float64Array;
}

function newQueryRow(channels: number): QueryRow {
  return {
    shift: new Float64Array(channels),
    total: new Float64Array(channels),
    weighted: new Float64Array(channels),
  };
}

/** Fills `row` for query i of batch element b: two passes over the keys it sees. */
function readQueryRow(r: ExactInputs, b: number, i: number, row: QueryRow): void {
  const { q, k, v, mask, queries, keys, channels, causal } = r;
  const { shift, total, weighted } = row;
  const queryAt = (b * queries + i) * channels;
  const lastKey = causal ? i : keys - 1;
  shift.fill(Number.POSITIVE_INFINITY);
  total.fill(0);
  weighted.fill(0);
  for (let j = 0; j <= lastKey; j++) {
    if (mask[b * keys + j] === 0) continue;
    const keyAt = (b * keys + j) * channels;
    for (let c = 0; c < channels; c++) {
      const difference = q[queryAt + c] - k[keyAt + c];
      const distance = difference * difference;
      if (distance < shift[c]) shift[c] = distance;
    }
  }
  for (let j = 0; j <= lastKey; j++) {
    if (mask[b * keys + j] === 0) continue;
    const keyAt = (b * keys + j) * channels;
    for (let c = 0; c < channels; c++) {
      const difference = q[queryAt + c] - k[keyAt + c];
      const w = Math.exp(shift[c] - difference * difference);
      total[c] += w;
      weighted[c] += w * v[keyAt + c];
    }
  }
}

/** Forward pass: y [B, Lq, D]. */
export function exactForward(r: ForwardRecord<'exact'>): void {
  const { batch, queries, channels, y } = r;
  const row = newQueryRow(channels);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < queries; i++) {
      readQueryRow(r, b, i, row);
      const at = (b * queries + i) * channels;
      for (let c = 0; c < channels; c++) y[at + c] = ratio(row.weighted[c], row.total[c]);
    }
  }
}

/**
 * Backward pass. With p_ij = w_ij / Σ_j w_ij and G_ij = g_i p_ij (v_j - y_i) 2 (q_i - k_j):
 * ∂q_i = -Σ_j G_ij, ∂k_j = Σ_i G_ij, ∂v_j = Σ_i g_i p_ij. ∂k and ∂v gather over queries in
 * float64 scratch of one sequence ([L, D] each) before rounding.
 */
export function exactBackward(r: BackwardRecord<'exact'>): void {
  const { q, k, v, mask, dy, batch, queries, keys, channels, causal } = r;
  const row = newQueryRow(channels);
  const dqRow = new Float64Array(channels);
  const dkSequence = new Float64Array(keys * channels);
  const dvSequence = new Float64Array(keys * channels);
  for (let b = 0; b < batch; b++) {
    dkSequence.fill(0);
    dvSequence.fill(0);
    for (let i = 0; i < queries; i++) {
      readQueryRow(r, b, i, row);
      const { shift, total, weighted } = row;
      const queryAt = (b * queries + i) * channels;
      dqRow.fill(0);
      const lastKey = causal ? i : keys - 1;
      for (let j = 0; j <= lastKey; j++) {
        if (mask[b * keys + j] === 0) continue;
        const keyAt = (b * keys + j) * channels;
        for (let c = 0; c < channels; c++) {
          if (isZeroDenominator(total[c])) continue;
          const difference = q[queryAt + c] - k[keyAt + c];
          const p = Math.exp(shift[c] - difference * difference) / total[c];
          const gp = dy[queryAt + c] * p;
          const y = weighted[c] / total[c];
          const shared = 2 * difference * gp * (v[keyAt + c] - y);
          dvSequence[j * channels + c] += gp;
          dkSequence[j * channels + c] += shared;
          dqRow[c] -= shared;
        }
      }
      for (let c = 0; c < channels; c++) r.dq[queryAt + c] = dqRow[c];
    }
    const keyAt = b * keys * channels;
    for (let x = 0; x < keys * channels; x++) {
      r.dk[keyAt + x] = dkSequence[x];
      r.dv[keyAt + x] = dvSequence[x];
    }
  }
}
