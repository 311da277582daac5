import { describe, expect, it } from 'vitest';
import {
  formatMegabytes,
  formatMs,
  formatOptionalMs,
  formatRatio,
  formatRatioOf,
  markdownTable,
} from '../src/format.js';

describe('markdownTable', () => {
  it('aligns text columns left and numeric columns right, as text and as markdown', () => {
    const table = markdownTable(
      ['backend', 'L', 'ratio'],
      [
        ['wasm', 256, '1.5×'],
        ['cpu', 16384, '12×'],
      ],
    );
    expect(table.split('\n')).toEqual([
      '| backend |     L | ratio |',
      '|---------|------:|------:|',
      '| wasm    |   256 |  1.5× |',
      '| cpu     | 16384 |   12× |',
    ]);
  });

  it('keeps a column with any word in it left-aligned, and a dash counts as a number', () => {
    const table = markdownTable(
      ['ms', 'note'],
      [
        ['—', 'skipped'],
        ['3.2', '—'],
      ],
    );
    expect(table.split('\n')[1]).toBe('|----:|---------|');
  });
});

describe('numbers', () => {
  it('gives milliseconds about three significant digits', () => {
    expect([formatMs(1234.5), formatMs(12.345), formatMs(1.2345)]).toEqual([
      '1235',
      '12.3',
      '1.23',
    ]);
  });

  it('writes ratios with one decimal below 10 and none above', () => {
    expect([formatRatio(2.345), formatRatio(12.5)]).toEqual(['2.3×', '13×']);
  });

  it('divides only when both times exist', () => {
    expect(formatRatioOf(30, 10)).toBe('3.0×');
    expect(formatRatioOf(undefined, 10)).toBe('—');
    expect(formatRatioOf(30, undefined)).toBe('—');
  });

  it('marks a time that was not measured', () => {
    expect(formatOptionalMs(5)).toBe('5.00');
    expect(formatOptionalMs(undefined)).toBe('—');
    expect(formatOptionalMs(undefined, 'skipped')).toBe('skipped');
  });

  it('converts bytes to MiB', () => {
    expect([formatMegabytes(2 ** 20 * 1.25), formatMegabytes(2 ** 20 * 150)]).toEqual([
      '1.3',
      '150',
    ]);
  });
});
