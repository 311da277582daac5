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
 * The zero-denominator rule in float32: a denominator below the smallest normal float32 (or NaN)
 * counts as 0, as `@elementwise/math` does in float64. Such a query outputs 0 and passes no
 * gradient. GPUs may flush subnormals to zero anyway, so this makes every device agree.
 */
export const ZERO_DENOMINATOR = `
  bool isZeroDenominator(float denominator) {
    return !(abs(denominator) >= 1.17549435e-38);
  }
`;
