// A user of @elementwise/backend-cpu, as published: importing the package registers its fused
// kernels, and the op from @elementwise/attention then runs them on tfjs `wasm` and `cpu`.
// Forward and gradients are compared with the float64 oracle; no tensor may leak.
import { ElementwiseAttentionForward, elementwiseAttention } from '@elementwise/attention';
import { kernelImplementation } from '@elementwise/backend-cpu';
import { eaBackward, eaForward, relativeRmsError } from '@elementwise/math';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`@elementwise/backend-cpu consumer: ${message}`);
}

const [B, L, D] = [2, 33, 8];
let seed = 4_242;
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
const options = { order: 6, causal: true };
const wantY = eaForward(oracle, options).y;
const want = eaBackward(oracle, gv, options);

for (const backend of ['wasm', 'cpu']) {
  await tf.setBackend(backend);
  await tf.ready();
  check(tf.getBackend() === backend, `backend is ${tf.getBackend()}, expected ${backend}`);
  check(
    tf.getKernel(ElementwiseAttentionForward, backend) != null,
    `importing the package registered no ${ElementwiseAttentionForward} kernel for ${backend}`,
  );
  const [q, k, v, g] = [qv, kv, vv, gv].map((x) => tf.tensor3d(x, [B, L, D]));
  const before = tf.memory().numTensors;
  const attention = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    elementwiseAttention(a, b, c, options) as tf.Tensor3D;
  const y = attention(q, k, v);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.mul(attention(a, b, c), g)),
  )([q, k, v]);
  const errors = {
    y: relativeRmsError(wantY, y.dataSync()),
    dq: relativeRmsError(want.dq, grads[0].dataSync()),
    dk: relativeRmsError(want.dk, grads[1].dataSync()),
    dv: relativeRmsError(want.dv, grads[2].dataSync()),
  };
  tf.dispose([y, ...grads]);
  check(tf.memory().numTensors === before, `${backend}: tensors leaked`);
  for (const [name, error] of Object.entries(errors)) {
    check(error <= 1e-5, `${backend}: ${name} relative RMS error ${error} > 1e-5`);
  }
  tf.dispose([q, k, v, g]);
  console.log(
    `${backend} (${kernelImplementation()}): ${Object.entries(errors)
      .map(([name, error]) => `${name} ${error.toExponential(2)}`)
      .join(', ')}`,
  );
}
console.log('ok');
