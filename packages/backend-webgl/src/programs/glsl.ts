/**
 * GLSL fragments shared by the programs. Everything is float32 (`highp`, tfjs's default), and
 * every constant that depends on the order is baked into the shader source: tfjs caches compiled
 * programs by source and input shapes, so each (order, shape) compiles once.
 *
 * Layout of the moment textures, `[B, R, 2T, D]`: rows `0..T-1` hold the value-weighted moments
 * (`S_n`, or the adjoints `A_n`), rows `T..2T-1` the plain ones (`Z_n`, or `B_n`). R is the
 * sequence length for per-position (prefix/suffix) moments and 1 for totals.
 */

import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';

/**
 * A program as tfjs runs it: `main` fills one output element. tfjs caches compiled programs by
 * source, so two calls with the same baked-in constants share one compilation.
 */
export function glslProgram(
  variableNames: string[],
  outputShape: number[],
  userCode: string,
): GPGPUProgram {
  return { variableNames, outputShape, userCode };
}

const AXES = 'xyzw';

/**
 * `void main()` with one `int` per output axis, named outer to inner (e.g. `['b', 'i', 'd']`),
 * before `body`. Every program reads its output coordinates this way, so the names a program's
 * GLSL uses are the ones listed at its call.
 */
export function mainOverOutput(axes: readonly string[], body: string): string {
  if (axes.length < 2 || axes.length > AXES.length) {
    throw new Error(`mainOverOutput: ${axes.length} axes, expected 2 to 4`);
  }
  const coordinates = axes.map((name, axis) => `int ${name} = coords.${AXES[axis]};`).join('\n');
  return `
    void main() {
      ivec${axes.length} coords = getOutputCoords();
      ${coordinates}
      ${body}
    }
  `;
}

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
 * `quotientOrZero` is an output under the rule.
 */
export const ZERO_DENOMINATOR = `
  bool isZeroDenominator(float denominator) {
    return abs(denominator) < 1.17549435e-38;
  }
  float quotientOrZero(float numerator, float denominator) {
    return isZeroDenominator(denominator) ? 0.0 : numerator / denominator;
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

/**
 * Declares `float keyFeature(float key, int n)`, `f_n(k) = k^n e^{-k²}` for n < terms. Built as
 * `e^{-k²}·k·k…`, so a key whose `e^{-k²}` underflowed contributes an exact 0 however large `k^n`
 * would be.
 */
export function keyFeatureDeclaration(terms: number): string {
  return `
  float keyFeature(float key, int n) {
    float feature = exp(-key * key);
    for (int m = 0; m < ${terms}; m++) {
      if (m >= n) break;
      feature *= key;
    }
    return feature;
  }
  `;
}

/**
 * Outputs 0 for a masked key j of batch b and leaves `main`: a masked key is absent, never read,
 * so a NaN or ±∞ it holds reaches no moment and it gets no gradient (0 · NaN would be NaN).
 */
export const SKIP_MASKED_KEY = `
  if (getMask(b, j) == 0.0) {
    setOutput(0.0);
    return;
  }
`;

export type KeyGradient = 'dk' | 'dv';

/**
 * A key-gradient program, `dk` or `dv` `[B, L, D]`, one key j of (b, d) per element: a masked key
 * outputs 0, any other has `key` and `value` declared before `body`, which sets the output.
 * `declarations` go before `main`.
 */
export function keyGradientProgram(
  dims: { batch: number; keys: number; channels: number },
  variableNames: string[],
  declarations: string,
  body: string,
): GPGPUProgram {
  return glslProgram(
    variableNames,
    [dims.batch, dims.keys, dims.channels],
    `
    ${declarations}
    ${mainOverOutput(
      ['b', 'j', 'd'],
      `
      ${SKIP_MASKED_KEY}
      float key = getK(b, j, d);
      float value = getV(b, j, d);
      ${body}
    `,
    )}
  `,
  );
}
