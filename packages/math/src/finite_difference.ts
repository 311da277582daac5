/**
 * Central-difference gradient of a scalar function, the independent check on every analytic
 * backward pass: `∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h`.
 *
 * The truncation error is O(h²) and the rounding error O(ε/h); the default `h = 1e-5` balances
 * the two for float64 inputs of order 1, giving about 1e-10 absolute accuracy. `x` is not
 * modified.
 */
export function centralDifferenceGradient(
  f: (x: Float64Array) => number,
  x: Float64Array,
  h = 1e-5,
): Float64Array {
  if (!(h > 0) || !Number.isFinite(h)) {
    throw new RangeError(`h must be a finite number > 0, got ${String(h)}`);
  }
  const point = Float64Array.from(x);
  const gradient = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    point[i] = x[i] + h;
    const above = f(point);
    point[i] = x[i] - h;
    const below = f(point);
    point[i] = x[i];
    // Divide by the step actually taken, which rounding can make differ slightly from 2h.
    gradient[i] = (above - below) / (x[i] + h - (x[i] - h));
  }
  return gradient;
}
