/**
 * Checks of the options objects users pass to `createModel`, `train`, `evaluate`, `generate` and
 * `fromPretrained`. JavaScript callers get no type checking, so a typo (`temprature`) or a
 * string where a number belongs (`learningRate: '0.1'`) would otherwise run with a default or
 * a coerced value that looks like an answer.
 */

import { describeValue } from './describe_value.js';

// The one rendering of values in error messages (./describe_value.ts), re-exported for the
// checks that import it from here.
export { describeValue };

/**
 * Returns an options argument as an object (`{}` when omitted). Refuses anything else (a
 * number or a string where the options go) and names outside `known`. `argument` is how the
 * message names it (`options`, `options.earlyStopping`, `data`), `noun` what its names are.
 */
export function checkOptions<T extends object>(
  where: string,
  options: unknown,
  known: readonly string[],
  argument = 'options',
  noun = 'option',
): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(
      `${where}: ${argument} must be an object with any of ${known.join(', ')}, got ${describeValue(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const inside = argument === 'options' ? '' : ` in ${argument}`;
      throw new Error(
        `${where}: unknown ${noun} '${key}'${inside}; expected one of ${known.join(', ')}`,
      );
    }
  }
  return options as Partial<T>;
}

/**
 * A number option that passes `test`; `expected` says what that means, e.g. `'a number > 0'`.
 * Strings are refused rather than coerced: `'0.1' > 0` holds in JavaScript.
 */
export function checkNumber(
  where: string,
  name: string,
  value: unknown,
  test: (value: number) => boolean,
  expected: string,
): number {
  if (typeof value !== 'number' || !test(value)) {
    throw new Error(`${where}: ${name} must be ${expected}, got ${describeValue(value)}`);
  }
  return value;
}

export const isPositiveInteger = (x: number) => Number.isInteger(x) && x >= 1;
