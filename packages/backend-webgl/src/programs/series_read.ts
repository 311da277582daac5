/**
 * GLSL that reads query i's numerator and denominator from the moments:
 * `N = Σ_n a_n q^n (S0_n + S_n(row))`, `M = Σ_n a_n q^n (Z0_n + Z_n(row))`, in Horner form, or
 * both divided by q^t (Horner in 1/q) where `useScaled` (glsl.ts, USE_SCALED) says so.
 * Expects `b`, `d`, `row` and `query` in scope, `taylor` and `useScaled` declared, and the
 * variables `moments`, `initialS`, `initialZ`; declares `numerator`, `denominator` and `scaled`.
 */
export function readNumeratorAndDenominator(terms: number): string {
  return `
    float numerator = 0.0;
    float denominator = 0.0;
    for (int n = ${terms - 1}; n >= 0; n--) {
      float s = getInitialS(b, n, d) + getMoments(b, row, n, d);
      float z = getInitialZ(b, n, d) + getMoments(b, row, ${terms} + n, d);
      numerator = numerator * query + taylor[n] * s;
      denominator = denominator * query + taylor[n] * z;
    }
    float inverse = 1.0 / query;
    float scaledNumerator = 0.0;
    float scaledDenominator = 0.0;
    for (int n = 0; n < ${terms}; n++) {
      float s = getInitialS(b, n, d) + getMoments(b, row, n, d);
      float z = getInitialZ(b, n, d) + getMoments(b, row, ${terms} + n, d);
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
