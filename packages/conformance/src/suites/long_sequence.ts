import { elementwiseAttention } from '@elementwise/attention';
import { eaForward } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe } from 'vitest';
import type { Kit } from '../kit.js';
import { randomNormal } from '../random.js';

/** Causal prefix sums over a long sequence must not drift (DESIGN.md §2 numerics). */
export function longSequenceSuite(kit: Kit): void {
  const length = kit.options.longSequence;
  describe('long sequence', () => {
    kit.test(`causal prefix sums stay accurate at L = ${length} (D = 16, order 6)`, async () => {
      const [batch, channels, order] = [1, 16, 6];
      const size = batch * length * channels;
      const [q, k, v] = [7, 8, 9].map((seed) => randomNormal(size, seed, seed === 9 ? 1 : 0.5));
      const shape: [number, number, number] = [batch, length, channels];
      const [qt, kt, vt] = [q, k, v].map((x) => tf.tensor3d(x, shape));
      const y = elementwiseAttention(qt, kt, vt, { order, causal: true });
      const expected = eaForward(
        { q, k, v, dims: { batch, queryLength: length, keyLength: length, channels } },
        { order, causal: true },
      );
      const error = await kit.compare.expectClose(y, expected.y, 'longSequence', 'y');
      console.info(
        `[EA conformance] '${kit.backend}': L=${length} causal D=16 order 6: relative RMS error ` +
          error.toExponential(2),
      );
      tf.dispose([qt, kt, vt, y]);
    });
  });
}
