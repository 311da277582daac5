import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  type AttentionState,
  elementwiseAttentionLayer,
  type KeyValueCache,
  multiHeadAttentionLayer,
} from '../src/index.js';
import { disposeVariablesAfterEachTest, expectClose, randomNormal, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

type State = AttentionState | KeyValueCache;

/** The recurrent API shared by both layers. */
interface Recurrent {
  apply(x: tf.Tensor, kwargs?: object): tf.Tensor | tf.Tensor[] | unknown;
  initState(batch: number): State;
  prefill(
    x: tf.Tensor,
    options?: { mask?: tf.Tensor; state?: never },
  ): { y: tf.Tensor; state: State };
  step(xt: tf.Tensor, state: never): { y: tf.Tensor; state: State };
}

const LAYERS: { name: string; make: () => Recurrent }[] = [
  {
    name: 'EA order 6',
    make: () => elementwiseAttentionLayer({ order: 6, causal: true }) as never,
  },
  {
    name: 'EA order 2',
    make: () => elementwiseAttentionLayer({ order: 2, causal: true }) as never,
  },
  {
    name: 'EA order 2, groupSize 3',
    make: () => elementwiseAttentionLayer({ order: 2, causal: true, groupSize: 3 }) as never,
  },
  {
    name: 'softmax, 2 heads',
    make: () => multiHeadAttentionLayer({ numHeads: 2, keyDim: 3, causal: true }) as never,
  },
  {
    name: 'EA order 6, shortConv 4, output gate, qkNorm rms, qkBound 1.2',
    make: () =>
      elementwiseAttentionLayer({
        order: 6,
        causal: true,
        shortConv: 4,
        outputGate: true,
        qkNorm: 'rms',
        qkBound: 1.2,
      }) as never,
  },
  {
    name: 'EA order 2, groupSize 3, shortConv 3 (longer than one step, shorter than the prompt)',
    make: () =>
      elementwiseAttentionLayer({ order: 2, causal: true, groupSize: 3, shortConv: 3 }) as never,
  },
  {
    name: 'softmax, 2 heads, shortConv 6 (longer than the prompt), output gate',
    make: () =>
      multiHeadAttentionLayer({
        numHeads: 2,
        keyDim: 3,
        causal: true,
        shortConv: 6,
        outputGate: true,
      }) as never,
  },
];

const BATCH = 2;
const LENGTH = 9;
const CHANNELS = 6;
const PROMPT = 4;

function sliceTime(x: tf.Tensor, start: number, size: number): tf.Tensor {
  return tf.slice(x, [0, start, 0], [x.shape[0], size, x.shape[2] as number]);
}

/** Runs prefill over the first `prompt` positions and steps over the rest; returns [B, L, D]. */
function recurrentOutput(
  layer: Recurrent,
  x: tf.Tensor,
  prompt: number,
  mask?: tf.Tensor,
): tf.Tensor {
  return tf.tidy(() => {
    const promptMask = mask ? tf.slice(mask, [0, 0], [BATCH, prompt]) : undefined;
    const first = layer.prefill(sliceTime(x, 0, prompt), promptMask ? { mask: promptMask } : {});
    const outputs = [first.y];
    let state = first.state;
    for (let i = prompt; i < LENGTH; i++) {
      const xt = tf.squeeze(sliceTime(x, i, 1), [1]);
      const next = layer.step(xt, state as never);
      outputs.push(tf.expandDims(next.y, 1));
      state = next.state;
    }
    return tf.concat(outputs, 1);
  });
}

disposeVariablesAfterEachTest();

describe.each(BACKENDS)('recurrent API on %s', (backend) => {
  describe.each(LAYERS)('$name', ({ make }) => {
    it('prefill + step equal the parallel call, with and without a padding mask', async () => {
      await useBackend(backend);
      const layer = make();
      const x = randomNormal([BATCH, LENGTH, CHANNELS], 21, 1);
      const parallel = layer.apply(x) as tf.Tensor;
      expectClose(recurrentOutput(layer, x, PROMPT), parallel.dataSync(), 1e-5, 'prefill+step');
      expectClose(recurrentOutput(layer, x, 1), parallel.dataSync(), 1e-5, 'step from L = 1');

      // Left padding in the prompt (batched generation of prompts of different lengths).
      const mask = tf.tensor2d(
        [
          [1, 1, 1, 1, 1, 1, 1, 1, 1],
          [0, 0, 1, 1, 1, 1, 1, 1, 1],
        ],
        undefined,
        'bool',
      );
      const masked = layer.apply(x, { mask }) as tf.Tensor;
      expectClose(
        recurrentOutput(layer, x, PROMPT, mask),
        masked.dataSync(),
        1e-5,
        'masked prefill+step',
      );
      tf.dispose([x, parallel, mask, masked]);
    });

    it('prefill continues from a state (chunks), and initState is the empty state', async () => {
      await useBackend(backend);
      const layer = make();
      const x = randomNormal([BATCH, LENGTH, CHANNELS], 22, 1);
      const parallel = layer.apply(x) as tf.Tensor;
      const empty = layer.initState(BATCH);
      const a = layer.prefill(sliceTime(x, 0, 3), { state: empty as never });
      const b = layer.prefill(sliceTime(x, 3, LENGTH - 3), { state: a.state as never });
      expectClose(tf.concat([a.y, b.y], 1), parallel.dataSync(), 1e-5, 'chunked prefill');
      tf.dispose([x, parallel, empty, a, b] as tf.TensorContainer);
    });

    it('1 000 steps leave tf.memory().numTensors unchanged', async () => {
      await useBackend(backend);
      const layer = make();
      const x = randomNormal([1, 1, CHANNELS], 23, 1);
      const warm = layer.prefill(x);
      tf.dispose(warm as unknown as tf.TensorContainer);
      const xt = tf.reshape(x, [1, CHANNELS]);
      const before = tf.memory().numTensors;
      let state = layer.initState(1);
      for (let i = 0; i < 1000; i++) {
        const next = layer.step(xt, state as never);
        tf.dispose([next.y, state] as tf.TensorContainer);
        state = next.state;
      }
      if ('key' in state) expect(state.key.shape[2]).toBe(1000);
      tf.dispose(state as tf.TensorContainer);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, xt]);
    });
  });
});
