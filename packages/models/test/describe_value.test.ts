import { describe, expect, it } from 'vitest';
import { describeValue } from '../src/describe_value.js';
import { describeValue as fromOptions } from '../src/options.js';

/** The one rendering of values in error messages, for options, configs and model.json alike. */
describe('describeValue', () => {
  it('renders each kind of value', () => {
    const cases: Array<[unknown, string]> = [
      [undefined, 'undefined (missing)'],
      [null, 'null'],
      [42, '42'],
      [Number.NaN, 'NaN'],
      [true, 'true'],
      [10n, '10n'],
      ['0.1', "'0.1'"],
      [[1, 2], 'an array of length 2'],
      [new Float32Array(2), 'a Float32Array'],
      [Object.assign(new Int32Array(1), { constructor: null }), 'a Int32Array'],
      [() => 1, 'a function'],
      [{}, 'an object'],
      [new Map(), 'an object'],
    ];
    for (const [value, text] of cases) expect(describeValue(value)).toBe(text);
    expect(fromOptions).toBe(describeValue);
  });

  it('escapes strings as a single-quoted JavaScript string and cuts them after 80 characters', () => {
    expect(describeValue("it's")).toBe("'it\\'s'");
    expect(describeValue('a"b\\c')).toBe("'a\"b\\\\c'");
    expect(describeValue('line\nbreak\u0000')).toBe("'line\\nbreak\\u0000'");
    expect(describeValue('x'.repeat(80))).toBe(`'${'x'.repeat(80)}'`);
    expect(describeValue('x'.repeat(16 * 2 ** 20))).toBe(`'${'x'.repeat(80)}…'`);
    // A surrogate pair is not split at the cut.
    expect(describeValue(`${'x'.repeat(79)}😀😀`)).toBe(`'${'x'.repeat(79)}…'`);
  });
});
