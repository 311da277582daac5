/**
 * Every bound the conformance kit asserts, in one place.
 *
 * The metric is the project's: relative RMS error `‖ref − got‖₂ / ‖ref‖₂` against the float64
 * oracle of `@elementwise/math` (or, for `properties`, against a second result of the same
 * backend). A reference that is zero up to rounding has no scale to be relative to; then the
 * RMS of the result itself must stay below `zero`.
 *
 * Like tfjs's `testEpsilon()`, the bounds depend on the precision the device computes in.
 * The float32 bounds are the contract every backend is held to: the composite path meets them
 * with one to two orders of magnitude to spare on cpu and wasm, and on webgl and webgpu in
 * Chromium (SwiftShader); every run prints the errors it measured. A GPU whose `exp` or division
 * is less exact passes a wider `tolerance` for the forms concerned, and says so in its README.
 */

/** The arithmetic a backend stores and accumulates in. */
export type Precision = 'float32' | 'float16';

/** A relative RMS bound for each form the kit checks. */
export interface Tolerances {
  /** Series-order forward pass: `y` and the final state `(s, z)` against the oracle. */
  forward: number;
  /** Gradients `dq, dk, dv, d(initial state)` against the oracle's analytic backward. */
  backward: number;
  /** One recurrent step against the oracle, a step loop against the causal parallel form, and
   * step gradients against the oracle and the causal form. */
  step: number;
  /** The causal forward at `longSequence` tokens (D = 16, order 6): prefix sums must not drift. */
  longSequence: number;
  /** `order: 'exact'` (quadratic exact EA), forward and backward, including keys far from 0. */
  exact: number;
  /** Two results of the same backend that must agree: recurrent vs parallel, chunked vs whole,
   * permuted keys, masked vs truncated keys, and outputs before a change in later tokens. */
  properties: number;
  /** Absolute RMS a result may have where the reference is zero (`‖ref‖ ≈ 0`). */
  zero: number;
}

/** The kit's forms, in the order its report lists them. */
export const TOLERANCE_FORMS = [
  'forward',
  'backward',
  'step',
  'longSequence',
  'exact',
  'properties',
] as const satisfies readonly (keyof Tolerances)[];

export type ToleranceForm = (typeof TOLERANCE_FORMS)[number];

/**
 * Default bounds per precision.
 *
 * - `float32`: the contract. float32 rounding is ~6e-8 per operation; the composite path
 *   measures ~1e-7 to 3e-7 for every form on cpu, wasm, webgl and webgpu, except gradients in
 *   the masked causal case where a query's only visible key is itself (dq cancels to ~0):
 *   2.6e-6. At L = 65 536: 1.4e-7 (cpu), 1.8e-7 (wasm).
 * - `float16`: for devices that only store float16 (10-bit mantissa, ε ≈ 9.8e-4), where a single
 *   rounding of the inputs already costs ~3e-4. These are starting points derived from that
 *   rounding, not measurements: no float16-only device was available to measure them. An adapter
 *   that runs in float16 reports its measured errors and overrides what it needs.
 */
export const DEFAULT_TOLERANCES: Readonly<Record<Precision, Readonly<Tolerances>>> = {
  float32: {
    forward: 1e-5,
    backward: 1e-5,
    step: 1e-5,
    longSequence: 1e-5,
    exact: 1e-5,
    properties: 1e-5,
    zero: 1e-6,
  },
  float16: {
    forward: 1e-2,
    backward: 3e-2,
    step: 1e-2,
    longSequence: 5e-2,
    exact: 1e-2,
    properties: 1e-2,
    zero: 1e-3,
  },
};

/** The defaults for a precision with an adapter's per-form overrides applied. */
export function resolveTolerances(
  precision: Precision = 'float32',
  overrides: Partial<Tolerances> = {},
): Tolerances {
  const defaults = DEFAULT_TOLERANCES[precision];
  if (defaults == null) {
    throw new Error(`precision must be 'float32' or 'float16', got ${String(precision)}`);
  }
  const resolved = { ...defaults };
  for (const [form, value] of Object.entries(overrides)) {
    if (!(form in defaults)) {
      throw new Error(
        `unknown tolerance '${form}'; expected one of ${Object.keys(defaults).join(', ')}`,
      );
    }
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
      throw new Error(`tolerance.${form} must be a positive number, got ${String(value)}`);
    }
    resolved[form as keyof Tolerances] = value;
  }
  return resolved;
}
