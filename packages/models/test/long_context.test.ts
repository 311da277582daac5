import '@elementwise/backend-cpu';
import { describe, it } from 'vitest';
import { expectTrainsAtContext, useBackend } from './helpers.js';

describe('training at context 8 192', () => {
  // The path the benchmark measures at full width (BENCHMARKS.md, long contexts), at a width
  // small enough for a test: fused EA-6 on wasm with the blocks recomputed in the backward pass.
  it('an EA-6 char LM trains on wasm with recompute, leaking nothing', async () => {
    await useBackend('wasm');
    await expectTrainsAtContext(8192);
  });
});
