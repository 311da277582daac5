import { elementwiseAttentionLayer } from '@elementwise/layers';
import * as tf from '@tensorflow/tfjs';

const layer = elementwiseAttentionLayer({ order: 6, causal: true });
const x = tf.randomNormal([2, 12, 32]);
const parallel = layer.apply(x) as tf.Tensor; // [2, 12, 32]

// The same outputs as an RNN: prefill 8 positions in parallel, then one position at a time.
const prompt = layer.prefill(x.slice([0, 0, 0], [2, 8, 32]));
const outputs = [prompt.y];
let state = prompt.state; // {s, z}: [2, order + 1, 32] each, whatever the length
for (let i = 8; i < 12; i++) {
  const next = layer.step(x.slice([0, i, 0], [2, 1, 32]).squeeze([1]), state); // O(order · D)
  tf.dispose(state);
  state = next.state;
  outputs.push(next.y.expandDims(1));
}
const gap = tf.concat(outputs, 1).sub(parallel).abs().max();
console.log(state.s.shape, gap.dataSync()[0] < 1e-5);
