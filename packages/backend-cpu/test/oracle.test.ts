import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelImplementation, setSimdEnabled } from '../src/index.js';
import {
  BACKENDS,
  type Case,
  describeCase,
  expectCaseMatchesOracle,
  useBackend,
} from './helpers.js';

/** Fused kernels against the float64 oracle: outputs, final state and every gradient. */

const ORDERS = [0, 2, 4, 6, 8, 'exact'] as const;

const CASES: Case[] = [];
for (const order of ORDERS) {
  for (const causal of [false, true]) {
    // Odd L, D not a multiple of 4, B > 1, masks; Lq != L where allowed; state for series orders.
    CASES.push({
      batch: 2,
      queries: causal ? 7 : 5,
      keys: 7,
      channels: 5,
      order,
      causal,
      masked: true,
    });
    if (order !== 'exact') {
      CASES.push({
        batch: 2,
        queries: causal ? 6 : 9,
        keys: 6,
        channels: 3,
        order,
        causal,
        withState: true,
      });
    }
    CASES.push({ batch: 1, queries: 1, keys: 1, channels: 3, order, causal });
    if (order !== 'exact')
      CASES.push({ batch: 1, queries: 1, keys: 1, channels: 3, order, causal, withState: true });
  }
}
CASES.push({
  batch: 3,
  queries: 33,
  keys: 33,
  channels: 6,
  order: 6,
  causal: true,
  masked: true,
  withState: true,
});
CASES.push({
  batch: 1,
  queries: 1,
  keys: 17,
  channels: 2,
  order: 4,
  causal: false,
  masked: true,
  withState: true,
});

const RUNS = BACKENDS.flatMap((backend) =>
  (['wasm-simd', 'typescript'] as const).map((implementation) => ({ backend, implementation })),
);

// Several blocks of the causal backward pass, the last one partial.
CASES.push({
  batch: 2,
  queries: 2500,
  keys: 2500,
  channels: 3,
  order: 4,
  causal: true,
  masked: true,
  withState: true,
});

describe.each(RUNS)(
  'fused kernels on $backend ($implementation) match the float64 oracle',
  ({ backend, implementation }) => {
    const largest = new Map<string, number>();
    beforeAll(async () => {
      await useBackend(backend);
      setSimdEnabled(implementation === 'wasm-simd');
      // Node has WebAssembly SIMD, so both implementations are reachable here.
      expect(kernelImplementation()).toBe(implementation);
    });
    afterAll(() => {
      setSimdEnabled(true);
      const summary = [...largest].map(([name, e]) => `${name} ${e.toExponential(2)}`).join(', ');
      console.info(`[${backend}, ${implementation}] largest relative RMS errors: ${summary}`);
    });
    const record = (name: string, error: number) =>
      largest.set(name, Math.max(error, largest.get(name) ?? 0));

    for (const c of CASES) {
      it(describeCase(c), () => {
        for (const [name, error] of Object.entries(expectCaseMatchesOracle(c))) {
          record(name, error);
        }
      });
    }
  },
);
