/**
 * GLSL fragments shared by the programs. Everything is float32 (`highp`, tfjs's default), and
 * every constant that depends on the order is baked into the shader source: tfjs caches compiled
 * programs by source and input shapes, so each (order, shape) compiles once.
 *
 * Layout of the moment textures, `[B, R, 2T, D]`: rows `0..T-1` hold the value-weighted moments
 * (`S_n`, or the adjoints `A_n`), rows `T..2T-1` the plain ones (`Z_n`, or `B_n`). R is the
 * sequence length for per-position (prefix/suffix) moments and 1 for totals.
 */

/** A float literal that rounds to the same float32 as `value`. */
export function glslFloat(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`glslFloat: ${value} is not finite`);
  return value.toExponential(9);
}

/** `a_n = 2^n / n!` for n = 0..terms-1, computed in float64. */
export function taylorCoefficients(terms: number): number[] {
  const coefficients: number[] = [];
  let a = 1;
  for (let n = 0; n < terms; n++) {
    coefficients.push(a);
    a *= 2 / (n + 1);
  }
  return coefficients;
}

/** Declares `const float taylor[terms]` holding `a_n`. */
export function taylorDeclaration(terms: number): string {
  const values = taylorCoefficients(terms).map(glslFloat).join(', ');
  return `const float taylor[${terms}] = float[${terms}](${values});`;
}

/**
 * The zero-denominator rule in float32: a denominator below the smallest normal float32 counts
 * as 0, as `@elementwise/math` does in float64. Such a query outputs 0 and passes no gradient.
 * GPUs may flush subnormals to zero anyway, so this makes every device agree. A NaN denominator
 * is not zero: it comes from a non-finite input and propagates (README, "Non-finite inputs").
 */
export const ZERO_DENOMINATOR = `
  bool isZeroDenominator(float denominator) {
    return abs(denominator) < 1.17549435e-38;
  }
`;

/**
 * Whether query q is read with every term divided by q^t (Horner in 1/q) instead of the plain
 * terms a_n q^n: where |q| > 1 and finite, unless the divided denominator is below 2^-100
 * (moderate |q| at high orders, where dividing by q^t underflows) and the plain one is finite.
 * So neither M nor α = g/M overflows or turns subnormal (GPUs may flush those to zero); y and
 * every gradient are homogeneous in the query terms, so the common factor cancels. A non-finite
 * q keeps the plain reading and propagates. Values above 3.4028e38 count as not finite.
 */
export const USE_SCALED = `
  bool useScaled(float query, float denominator, float scaledDenominator) {
    return abs(query) > 1.0 && abs(query) <= 3.4028e38 &&
      (!(abs(denominator) <= 3.4028e38) || abs(scaledDenominator) >= 7.8886091e-31);
  }
`;
