/**
 * GLSL that reads query i's numerator and denominator from the moments:
 * `N = Σ_n a_n q^n (S0_n + S_n(row))`, `M = Σ_n a_n q^n (Z0_n + Z_n(row))`, in Horner form.
 * Expects `b`, `d`, `row` and `query` in scope and the variables `moments`, `initialS`,
 * `initialZ`; declares `numerator` and `denominator`.
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
  `;
}
