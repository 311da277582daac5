// A user of @elementwise/backend-node-cuda, as published: the prebuilt addon loads without a
// toolchain, `backendInfo()` says which path runs, and the op from @elementwise/attention runs
// the native kernels on tfjs `cpu`. Forward and gradients are compared with the float64 oracle.
import { ElementwiseAttentionBackward, elementwiseAttention } from '@elementwise/attention';
import { backendInfo } from '@elementwise/backend-node-cuda';
import { eaBackward, eaForward, relativeRmsError } from '@elementwise/math';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`@elementwise/backend-node-cuda consumer: ${message}`);
}

const info = backendInfo();
console.log(`path ${info.path}: ${info.reason}`);
check(info.path !== 'unavailable', `no native addon loaded: ${info.reason}`);

await tf.setBackend('cpu');
check(
  tf.getKernel(ElementwiseAttentionBackward, 'cpu') != null,
  `importing the package registered no ${ElementwiseAttentionBackward} kernel for cpu`,
);
const [B, L, D] = [2, 40, 6];
let seed = 777;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return (seed / 2 ** 31) * 2 - 1;
};
const values = () => Float32Array.from({ length: B * L * D }, random);
const [qv, kv, vv, gv] = [values(), values(), values(), values()];
const oracle = {
  q: qv,
  k: kv,
  v: vv,
  dims: { batch: B, queryLength: L, keyLength: L, channels: D },
};
for (const options of [
  { order: 4, causal: true },
  { order: 'exact' as const, causal: false },
]) {
  const [q, k, v, g] = [qv, kv, vv, gv].map((x) => tf.tensor3d(x, [B, L, D]));
  const before = tf.memory().numTensors;
  const attention = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    elementwiseAttention(a, b, c, options) as tf.Tensor3D;
  const y = attention(q, k, v);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.mul(attention(a, b, c), g)),
  )([q, k, v]);
  const want = eaBackward(oracle, gv, options);
  const errors = {
    y: relativeRmsError(eaForward(oracle, options).y, y.dataSync()),
    dq: relativeRmsError(want.dq, grads[0].dataSync()),
    dk: relativeRmsError(want.dk, grads[1].dataSync()),
    dv: relativeRmsError(want.dv, grads[2].dataSync()),
  };
  tf.dispose([y, ...grads]);
  check(tf.memory().numTensors === before, `order ${options.order}: tensors leaked`);
  for (const [name, error] of Object.entries(errors)) {
    check(error <= 1e-5, `order ${options.order}: ${name} relative RMS error ${error} > 1e-5`);
  }
  tf.dispose([q, k, v, g]);
  console.log(
    `order ${options.order} causal ${options.causal}: ${Object.entries(errors)
      .map(([name, error]) => `${name} ${error.toExponential(2)}`)
      .join(', ')}`,
  );
}
console.log('ok');
