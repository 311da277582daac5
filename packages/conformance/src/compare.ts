import { relativeRmsError } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { TOLERANCE_FORMS, type ToleranceForm, type Tolerances } from './tolerances.js';

/** Reads a tensor asynchronously (the only read every backend supports). */
export async function read(x: tf.Tensor): Promise<Float32Array> {
  return (await x.data()) as Float32Array;
}

const rms = (x: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  return Math.sqrt(sum / Math.max(x.length, 1));
};

/**
 * Compares results with references by relative RMS error, within the bound of one form, and
 * remembers the largest error seen per form for the report printed after the suite.
 */
export class Comparator {
  private readonly largest = new Map<ToleranceForm, number>();

  constructor(readonly tolerances: Tolerances) {}

  /**
   * Asserts that every value is finite and `‖ref − got‖₂ / ‖ref‖₂ <= tolerance[form]`; where the
   * reference is zero up to rounding, that the RMS of `got` is at most `tolerance.zero`.
   * Returns the measured error.
   */
  async expectClose(
    got: tf.Tensor | ArrayLike<number>,
    reference: ArrayLike<number>,
    form: ToleranceForm,
    what: string,
  ): Promise<number> {
    const values = got instanceof tf.Tensor ? await read(got) : got;
    expect(values.length, `${what}: number of elements`).toBe(reference.length);
    expectFinite(values, what);
    const zero = this.tolerances.zero;
    if (rms(reference) < zero) {
      const error = rms(values);
      expect(error, `${what}: RMS of a result whose reference is zero`).toBeLessThanOrEqual(zero);
      return error;
    }
    const error = relativeRmsError(reference, values);
    this.largest.set(form, Math.max(error, this.largest.get(form) ?? 0));
    expect(
      error,
      `${what}: relative RMS error ${error.toExponential(2)} exceeds the ${form} tolerance`,
    ).toBeLessThanOrEqual(this.tolerances[form]);
    return error;
  }

  /** One line per form that ran: the largest error measured and its bound. */
  summary(): string {
    const lines = TOLERANCE_FORMS.filter((form) => this.largest.has(form)).map(
      (form) =>
        `${form} ${this.largest.get(form)!.toExponential(2)} (bound ${this.tolerances[form].toExponential(0)})`,
    );
    return lines.length === 0 ? 'no comparisons ran' : lines.join(', ');
  }
}

/** Fails, naming the first offending index, when a value is NaN or infinite. */
export function expectFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      expect.fail(
        `${what}: non-finite value ${values[i]} at index ${i} of ${values.length} ` +
          '(an output element the kernel never wrote reads as NaN where outputs are poisoned)',
      );
    }
  }
}
