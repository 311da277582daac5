import type { CallDims } from './call_dims.js';
import { mainOverOutput, taylorDeclaration, USE_SCALED, ZERO_DENOMINATOR } from './glsl.js';

/**
 * GLSL reads of a state's term n, `s` (value-weighted: S_n or A_n) and `z` (plain: Z_n or B_n),
 * as expressions in the term index and the program's `b`, `d` (and `row`) variables.
 */
export interface StateReads {
  s(n: string): string;
  z(n: string): string;
}

/**
 * A state that is a base `[B, T, D]` pair plus row `row` of a moment texture `[B, R, 2T, D]`:
 * the initial state plus the prefix sums (or totals) S, Z, or the upstream dFinal plus the
 * suffix-summed (or total) adjoints A, B. `bases` and `moments` are the tfjs variable names.
 */
export function baseAndMoments(
  terms: number,
  bases: readonly [string, string],
  moments: string,
): StateReads {
  const get = (name: string) => `get${name[0].toUpperCase()}${name.slice(1)}`;
  return {
    s: (n) => `${get(bases[0])}(b, ${n}, d) + ${get(moments)}(b, row, ${n}, d)`,
    z: (n) => `${get(bases[1])}(b, ${n}, d) + ${get(moments)}(b, row, ${terms} + ${n}, d)`,
  };
}

/** The forward moments as the query side reads them: initial state plus S, Z at `row`. */
export function queryMoments(terms: number): StateReads {
  return baseAndMoments(terms, ['initialS', 'initialZ'], 'moments');
}

/**
 * GLSL that reads query `query`'s numerator and denominator from a state:
 * `N = Σ_n a_n q^n s_n`, `M = Σ_n a_n q^n z_n`, in Horner form, or both divided by q^t (Horner
 * in 1/q) where `useScaled` (glsl.ts, USE_SCALED) says so. Expects `query` and what `reads` uses
 * in scope, `taylor` and `useScaled` declared; declares `numerator`, `denominator` and `scaled`.
 */
export function readNumeratorAndDenominator(terms: number, reads: StateReads): string {
  return `
    float numerator = 0.0;
    float denominator = 0.0;
    for (int n = ${terms - 1}; n >= 0; n--) {
      float s = ${reads.s('n')};
      float z = ${reads.z('n')};
      numerator = numerator * query + taylor[n] * s;
      denominator = denominator * query + taylor[n] * z;
    }
    float inverse = 1.0 / query;
    float scaledNumerator = 0.0;
    float scaledDenominator = 0.0;
    for (int n = 0; n < ${terms}; n++) {
      float s = ${reads.s('n')};
      float z = ${reads.z('n')};
      scaledNumerator = scaledNumerator * inverse + taylor[n] * s;
      scaledDenominator = scaledDenominator * inverse + taylor[n] * z;
    }
    bool scaled = useScaled(query, denominator, scaledDenominator);
    if (scaled) {
      numerator = scaledNumerator;
      denominator = scaledDenominator;
    }
  `;
}

/** What {@link readNumeratorAndDenominator} and the zero-denominator rule need declared. */
export function seriesReadDeclarations(terms: number): string {
  return `
    ${taylorDeclaration(terms)}
    ${ZERO_DENOMINATOR}
    ${USE_SCALED}
  `;
}

/**
 * `main` over the queries i of (b, d), with `row` (the moments' row query i reads: i when causal,
 * the totals' 0 otherwise) and `query` declared, and the query's numerator, denominator and
 * `scaled` read from the initial state plus the forward moments before `body`.
 */
export function mainReadingQuery(dims: CallDims, axes: readonly string[], body: string): string {
  return `
    ${seriesReadDeclarations(dims.terms)}
    ${mainOverOutput(
      axes,
      `
      int row = ${dims.causal ? 'i' : '0'};
      float query = getQ(b, i, d);
      ${readNumeratorAndDenominator(dims.terms, queryMoments(dims.terms))}
      ${body}
    `,
    )}
  `;
}
