/**
 * The Taylor features of a similarity shared by a group of d channels ("grouped EA").
 *
 * A group scores query i against key j by the squared distance of its channels,
 * `w_ij = exp(-|q_i - k_j|²) = e^{-|q_i|²} e^{-|k_j|²} e^{2 q_i·k_j}` (./grouped.ts passes q and k
 * divided by √d, so the distance is the group's mean). As in per-channel EA the
 * query factor cancels, and the series replaces `e^{2q·k}` by `T_t(2q·k)`. By the multinomial
 * theorem `(2q·k)^n / n! = Σ_{|α| = n} (2^n / α!) q^α k^α`, so
 *
 *     T_t(2q·k) = Σ_{|α| <= t} a_α q^α k^α,    a_α = 2^{|α|} / α!
 *
 * over the monomials `x^α = Π_c x_c^{α_c}` of degree at most t in d variables — C(d + t, t) of
 * them. With d = 1 these are the per-channel features `a_n q^n`, `k^n`.
 *
 * Monomials are listed by degree; each one after the first is its parent times one variable, the
 * parent's last variable or a later one, so every monomial is built exactly once and a whole
 * feature vector costs one multiplication per feature.
 */
export interface GroupFeatures {
  /** d, the number of channels in a group. */
  readonly groupSize: number;
  /** t, the highest degree. */
  readonly order: number;
  /** Number of monomials, C(d + t, t). */
  readonly size: number;
  /** Degree |α| of each monomial. */
  readonly degree: Int32Array;
  /** Index of the monomial this one extends (-1 for the constant 1). */
  readonly parent: Int32Array;
  /** The variable (channel within the group) that multiplies the parent (-1 for the constant). */
  readonly variable: Int32Array;
  /** a_α = 2^{|α|} / α! */
  readonly coefficient: Float64Array;
}

/** Largest feature count a group may have: beyond it the state outgrows any use. */
export const MAX_GROUP_FEATURES = 4096;

/** C(d + t, t), the number of monomials of degree <= t in d variables. */
export function groupFeatureCount(groupSize: number, order: number): number {
  let count = 1;
  for (let n = 1; n <= order; n++) count = (count * (groupSize + n)) / n;
  return Math.round(count);
}

export function groupFeatures(groupSize: number, order: number): GroupFeatures {
  if (!Number.isInteger(groupSize) || groupSize < 1) {
    throw new RangeError(`groupSize must be an integer >= 1, got ${String(groupSize)}`);
  }
  if (!Number.isInteger(order) || order < 0) {
    throw new RangeError(`order must be an integer >= 0, got ${String(order)}`);
  }
  const size = groupFeatureCount(groupSize, order);
  if (size > MAX_GROUP_FEATURES) {
    throw new RangeError(
      `groupSize ${groupSize} at order ${order} has C(d + t, t) = ${size} Taylor features, more than MAX_GROUP_FEATURES = ${MAX_GROUP_FEATURES}`,
    );
  }
  const degree = new Int32Array(size);
  const parent = new Int32Array(size).fill(-1);
  const variable = new Int32Array(size).fill(-1);
  const coefficient = new Float64Array(size);
  // exponents of the monomial, to update α! as one exponent grows by one.
  const exponents: Int32Array[] = [new Int32Array(groupSize)];
  coefficient[0] = 1;
  let next = 1;
  let levelStart = 0;
  for (let n = 1; n <= order; n++) {
    const levelEnd = next;
    for (let p = levelStart; p < levelEnd; p++) {
      const last = Math.max(variable[p], 0);
      for (let c = last; c < groupSize; c++) {
        const alpha = Int32Array.from(exponents[p]);
        alpha[c] += 1;
        exponents.push(alpha);
        degree[next] = n;
        parent[next] = p;
        variable[next] = c;
        // a_α = a_parent · 2 / α_c (α! grows by the new exponent α_c).
        coefficient[next] = (coefficient[p] * 2) / alpha[c];
        next++;
      }
    }
    levelStart = levelEnd;
  }
  return { groupSize, order, size, degree, parent, variable, coefficient };
}

/** Every monomial x^α of one group's d values, in the order of `features`. */
export function monomials(features: GroupFeatures, x: ArrayLike<number>, offset = 0): Float64Array {
  const out = new Float64Array(features.size);
  out[0] = 1;
  for (let f = 1; f < features.size; f++) {
    out[f] = out[features.parent[f]] * x[offset + features.variable[f]];
  }
  return out;
}
