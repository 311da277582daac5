import { elementwiseAttention } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect } from 'vitest';
import { describeCase } from '../cases.js';
import {
  caseData,
  caseTensors,
  disposeTensors,
  forwardKernelInputs,
  momentsOf,
  oracleForward,
} from '../data.js';
import type { Kit } from '../kit.js';
import { KERNEL_NAMES } from '../kit.js';

/** The forward pass through the op (fused kernel where registered) against the oracle. */
export function forwardSuite(kit: Kit): void {
  describe('forward matches the float64 oracle', () => {
    kit.testEachCase(async (c, d) => {
      const expected = oracleForward(d);
      const t = caseTensors(d);
      const options = { order: c.order, causal: c.causal, mask: t.mask, initialState: t.state };
      const stateShape = [c.batch, momentsOf(c.order), c.channels];
      if (c.order === 'exact') {
        const y = elementwiseAttention(t.q, t.k, t.v, options);
        expect(y.shape).toEqual([c.batch, c.queries, c.channels]);
        await kit.compare.expectClose(y, expected.y, 'exact', 'y');
        y.dispose();
      } else {
        const { y, finalState } = elementwiseAttention(t.q, t.k, t.v, {
          ...options,
          returnFinalState: true,
        });
        expect(y.shape).toEqual([c.batch, c.queries, c.channels]);
        expect(finalState.s.shape).toEqual(stateShape);
        expect(finalState.z.shape).toEqual(stateShape);
        await kit.compare.expectClose(y, expected.y, 'forward', 'y');
        await kit.compare.expectClose(finalState.s, expected.finalState!.s, 'forward', 'final s');
        await kit.compare.expectClose(finalState.z, expected.finalState!.z, 'forward', 'final z');
        tf.dispose([y, finalState.s, finalState.z]);
      }
      disposeTensors(t);
    });

    kit.test(
      `the fused ${KERNEL_NAMES.forward} called directly returns [y, finalS, finalZ] for every case`,
      async (context) => {
        kit.requireFused(context, 'forward');
        for (const c of kit.options.cases) {
          const what = describeCase(c);
          const d = caseData(c);
          const expected = oracleForward(d);
          const t = caseTensors(d);
          const stateShape: [number, number, number] = [c.batch, momentsOf(c.order), c.channels];
          const inputs = forwardKernelInputs(c, t);
          const outputs = tf
            .engine()
            .runKernel(KERNEL_NAMES.forward, inputs, { order: c.order, causal: c.causal });
          const [y, s, z] = outputs as tf.Tensor[];
          expect(Array.isArray(outputs) && outputs.length, `${what}: number of outputs`).toBe(3);
          expect(y.shape, `${what}: y shape`).toEqual([c.batch, c.queries, c.channels]);
          expect(s.shape, `${what}: finalS shape`).toEqual(stateShape);
          expect(z.shape, `${what}: finalZ shape`).toEqual(stateShape);
          const form = c.order === 'exact' ? 'exact' : 'forward';
          await kit.compare.expectClose(y, expected.y, form, `${what}: y`);
          if (c.order !== 'exact') {
            await kit.compare.expectClose(s, expected.finalState!.s, form, `${what}: finalS`);
            await kit.compare.expectClose(z, expected.finalState!.z, form, `${what}: finalZ`);
          }
          tf.dispose([y, s, z, inputs.mask, inputs.initialS, inputs.initialZ]);
          disposeTensors(t);
        }
      },
    );
  });
}
