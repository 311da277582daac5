import { afterAll, describe, it } from 'vitest';
import { setSimdEnabled } from '../src/index.js';
import {
  type Case,
  expectCaseMatchesOracle,
  makeCaseData,
  oracleCase,
  useBackend,
} from './helpers.js';

/**
 * Causal running sums over a long sequence (L = 65 536, D = 16, order 6): forward and every
 * gradient against the float64 oracle. The kernels accumulate in float64, so the float32 bound
 * holds with a wide margin. The maths is shared by both backends; it runs here on cpu.
 */
describe('long causal sequence on cpu', () => {
  const c: Case = { batch: 1, queries: 65536, keys: 65536, channels: 16, order: 6, causal: true };
  const data = makeCaseData(c, 21);
  let oracle: ReturnType<typeof oracleCase> | undefined;
  afterAll(() => setSimdEnabled(true));

  for (const implementation of ['wasm-simd', 'typescript'] as const) {
    it(`L = 65536, D = 16, order 6 (${implementation}): y, dq, dk, dv within 1e-5 of the oracle`, async () => {
      await useBackend('cpu');
      setSimdEnabled(implementation === 'wasm-simd');
      oracle ??= oracleCase(c, data);
      const errors = expectCaseMatchesOracle(c, data, oracle);
      const report = Object.entries(errors).map(([n, e]) => `${n} ${e.toExponential(2)}`);
      console.info(`[cpu, ${implementation}] L=65536 causal D=16 order 6: ${report.join(', ')}`);
    });
  }
});
