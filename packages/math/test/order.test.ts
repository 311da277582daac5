import { describe, expect, it } from 'vitest';
import { assertOrder, assertSeriesOrder, isSeriesOrder } from '../src/index.js';

describe('order checks', () => {
  it('accepts even integers >= 0 as series orders', () => {
    for (const order of [0, 2, 4, 6, 8, 100]) {
      expect(isSeriesOrder(order)).toBe(true);
      expect(() => assertSeriesOrder(order)).not.toThrow();
      expect(() => assertOrder(order)).not.toThrow();
    }
  });

  it('rejects odd, negative, fractional and non-numeric series orders with a clear message', () => {
    expect(() => assertSeriesOrder(3)).toThrow('order must be an even integer >= 0, got 3');
    expect(() => assertSeriesOrder(-2)).toThrow('got -2');
    expect(() => assertSeriesOrder(2.5)).toThrow('got 2.5');
    expect(() => assertSeriesOrder(Number.NaN)).toThrow('got NaN');
    expect(() => assertSeriesOrder(Number.POSITIVE_INFINITY)).toThrow('got Infinity');
    expect(() => assertSeriesOrder('exact')).toThrow("got 'exact'");
    expect(() => assertSeriesOrder(undefined)).toThrow('got undefined');
    expect(() => assertSeriesOrder(3, 'options.order')).toThrow(
      'options.order must be an even integer >= 0, got 3',
    );
    expect(isSeriesOrder('2')).toBe(false);
  });

  it("assertOrder also accepts 'exact' and says so when it rejects", () => {
    expect(() => assertOrder('exact')).not.toThrow();
    expect(() => assertOrder(3)).toThrow("order must be an even integer >= 0 or 'exact', got 3");
    expect(() => assertOrder('Exact')).toThrow("got 'Exact'");
    expect(() => assertOrder(null)).toThrow('got null');
  });
});
