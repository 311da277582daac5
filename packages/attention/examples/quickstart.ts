import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { elementwiseAttention, elementwiseAttentionStep } from '@elementwise/attention';

const [q, k, v] = [1, 2, 3].map((seed) => tf.randomNormal([2, 128, 64], 0, 0.5, 'float32', seed));
const y = elementwiseAttention(q, k, v, { order: 6, causal: true }); // [2, 128, 64]
const ea = (...x: tf.Tensor[]) => elementwiseAttention(x[0], x[1], x[2], { causal: true });
const [dq, dk, dv] = tf.grads((...x) => tf.sum(ea(...x)))([q, k, v]);

// Prefill a prompt in parallel, then generate one token at a time: O(t·D) per step.
let { finalState: state } = elementwiseAttention(q, k, v, { causal: true, returnFinalState: true });
for (let i = 0; i < 16; i++) {
  const [qt, kt, vt] = [0, 1, 2].map(() => tf.randomNormal([2, 64], 0, 0.5));
  const out = elementwiseAttentionStep(qt, kt, vt, state); // out.y: [2, 64]
  tf.dispose([qt, kt, vt, state.s, state.z, out.y]);
  state = out.state;
}
console.log(y.shape, [dq.shape, dk.shape, dv.shape], state.s.shape);
