import { elementwiseAttention } from '@elementwise/attention';
import { zeroState } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect } from 'vitest';
import type { Case } from '../cases.js';
import {
  caseTensors,
  disposeTensors,
  forwardKernelInputs,
  momentsOf,
  oracleBackward,
} from '../data.js';
import type { Kit } from '../kit.js';
import { KERNEL_NAMES, memorySnapshot } from '../kit.js';
import { randomNormal } from '../random.js';

/** Upstream gradients of y and of the final state, random so every gradient path counts. */
function cotangents(c: Case) {
  const moments = momentsOf(c.order);
  return {
    dy: randomNormal(c.batch * c.queries * c.channels, 11),
    dS: randomNormal(c.batch * moments * c.channels, 12),
    dZ: randomNormal(c.batch * moments * c.channels, 13),
  };
}

/**
 * Gradients against the oracle's analytic backward (itself checked against finite differences in
 * `@elementwise/math`): through `tf.grads` of the op, which runs the registered gradient and so
 * the backend's backward kernel where it has one; and by calling that kernel directly, which
 * checks the state gradients of every case.
 */
export function backwardSuite(kit: Kit): void {
  describe('gradients through tf.grads match the oracle', () => {
    kit.testEachCase(async (c, d) => {
      const t = caseTensors(d);
      const series = c.order !== 'exact';
      const form = series ? 'backward' : 'exact';
      const moments = momentsOf(c.order);
      const g = cotangents(c);
      const dy = tf.tensor3d(g.dy, [c.batch, c.queries, c.channels]);
      const dS = tf.tensor3d(g.dS, [c.batch, moments, c.channels]);
      const dZ = tf.tensor3d(g.dZ, [c.batch, moments, c.channels]);
      const withState = t.state != null;
      const loss = (...args: tf.Tensor[]) => {
        const [q, k, v, s, z] = args;
        const options = { order: c.order, causal: c.causal, mask: t.mask };
        if (!series) return tf.sum(tf.mul(elementwiseAttention(q, k, v, options), dy));
        const out = elementwiseAttention(q, k, v, {
          ...options,
          initialState: withState ? { s, z } : undefined,
          returnFinalState: true,
        });
        return tf.addN([
          tf.sum(tf.mul(out.y, dy)),
          tf.sum(tf.mul(out.finalState.s, dS)),
          tf.sum(tf.mul(out.finalState.z, dZ)),
        ]);
      };
      const xs = [t.q, t.k, t.v, ...(t.state ? [t.state.s, t.state.z] : [])];
      const before = memorySnapshot();
      const grads = tf.grads(loss)(xs);
      const after = memorySnapshot();
      expect(after.tensors - before.tensors, 'tensors left besides the gradients').toBe(
        grads.length,
      );

      const expected = oracleBackward(d, g.dy, series ? { s: g.dS, z: g.dZ } : undefined);
      grads.forEach((grad, i) => {
        expect(grad.shape, `gradient ${i} shape`).toEqual(xs[i].shape);
      });
      await kit.compare.expectClose(grads[0], expected.dq, form, 'dq');
      await kit.compare.expectClose(grads[1], expected.dk, form, 'dk');
      await kit.compare.expectClose(grads[2], expected.dv, form, 'dv');
      if (withState) {
        await kit.compare.expectClose(grads[3], expected.dInitialState!.s, form, 'ds0');
        await kit.compare.expectClose(grads[4], expected.dInitialState!.z, form, 'dz0');
      }
      tf.dispose([...grads, dy, dS, dZ]);
      disposeTensors(t);
    });
  });

  describe(`the fused ${KERNEL_NAMES.backward} called directly matches the oracle`, () => {
    kit.testEachCase(async (c, d, context) => {
      kit.requireFused(context, 'backward');
      const t = caseTensors(d);
      const series = c.order !== 'exact';
      const form = series ? 'backward' : 'exact';
      const moments = momentsOf(c.order);
      const stateShape: [number, number, number] = [c.batch, moments, c.channels];
      const g = cotangents(c);
      const inputs = {
        ...forwardKernelInputs(c, t),
        dy: tf.tensor3d(g.dy, [c.batch, c.queries, c.channels]),
        dFinalS: tf.tensor3d(g.dS, stateShape),
        dFinalZ: tf.tensor3d(g.dZ, stateShape),
      };
      const outputs = tf
        .engine()
        .runKernel(KERNEL_NAMES.backward, inputs, { order: c.order, causal: c.causal });
      expect(Array.isArray(outputs) && outputs.length, 'number of outputs').toBe(5);
      const [dq, dk, dv, ds0, dz0] = outputs as tf.Tensor[];
      expect(dq.shape, 'dq shape').toEqual(t.q.shape);
      expect(dk.shape, 'dk shape').toEqual(t.k.shape);
      expect(dv.shape, 'dv shape').toEqual(t.v.shape);
      expect(ds0.shape, 'dInitialS shape').toEqual(stateShape);
      expect(dz0.shape, 'dInitialZ shape').toEqual(stateShape);

      const expected = series
        ? oracleBackward(
            d,
            g.dy,
            { s: g.dS, z: g.dZ },
            d.state ?? zeroState(c.order as number, c.batch, c.channels),
          )
        : oracleBackward(d, g.dy);
      await kit.compare.expectClose(dq, expected.dq, form, 'dq');
      await kit.compare.expectClose(dk, expected.dk, form, 'dk');
      await kit.compare.expectClose(dv, expected.dv, form, 'dv');
      if (series) {
        await kit.compare.expectClose(ds0, expected.dInitialState!.s, form, 'dInitialS');
        await kit.compare.expectClose(dz0, expected.dInitialState!.z, form, 'dInitialZ');
      }
      tf.dispose([...(outputs as tf.Tensor[]), ...Object.values(inputs)]);
    });
  });
}
