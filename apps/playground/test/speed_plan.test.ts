import { describe, expect, it } from 'vitest';
import { parseLengths, predictMilliseconds, skipReason } from '../src/shared/speed_plan.js';

describe('speed plan', () => {
  const measured = [
    { length: 256, milliseconds: 10 },
    { length: 512, milliseconds: 30 },
  ];

  it('predicts from the longest shorter measurement by the cost exponent', () => {
    expect(predictMilliseconds(measured, 2048, 1)).toBeCloseTo(120);
    expect(predictMilliseconds(measured, 2048, 2)).toBeCloseTo(480);
    expect(predictMilliseconds([], 2048, 2)).toBeNull();
  });

  it('skips a length predicted over the budget, and says why', () => {
    expect(skipReason(measured, 1024, 2, 1)).toBeNull();
    expect(skipReason(measured, 4096, 2, 1)).toBe(
      'skipped: predicted 1.9 s per run, over the 1 s budget',
    );
  });

  it('reads a list of lengths, and refuses a bad one', () => {
    expect(parseLengths('1024, 256,512,256')).toEqual([256, 512, 1024]);
    expect(parseLengths('256,abc')).toBeNull();
    expect(parseLengths('0')).toBeNull();
  });
});
