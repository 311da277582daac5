import { describe, expect, it } from 'vitest';
import { parseLengthFlags } from '../src/flags.js';

describe('parseLengthFlags', () => {
  it('runs every length and writes no JSON by default', () => {
    expect(parseLengthFlags([])).toEqual({ maxLength: Number.POSITIVE_INFINITY, json: undefined });
  });

  it('reads both flags and ignores the `--` pnpm passes on', () => {
    expect(parseLengthFlags(['--', '--max-length', '1024', '--json', 'out.json'])).toEqual({
      maxLength: 1024,
      json: 'out.json',
    });
  });

  it('refuses a length that is not a positive number, and unknown flags', () => {
    expect(() => parseLengthFlags(['--max-length', 'abc'])).toThrow(/--max-length/);
    expect(() => parseLengthFlags(['--max-length', '0'])).toThrow(/--max-length/);
    expect(() => parseLengthFlags(['--quick'])).toThrow();
  });
});
