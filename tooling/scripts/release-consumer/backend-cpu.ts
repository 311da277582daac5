// A user of @elementwise/backend-cpu, as published: importing the package registers its fused
// kernels, and the op from @elementwise/attention then runs them on tfjs `wasm` and `cpu`.
// Forward and gradients are compared with the float64 oracle; no tensor may leak.
import { ElementwiseAttentionForward } from '@elementwise/attention';
import { kernelImplementation } from '@elementwise/backend-cpu';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { checkerFor } from './support/check.js';
import { seededValues } from './support/inputs.js';
import { compareWithOracle } from './support/oracle_comparison.js';

const check = checkerFor('@elementwise/backend-cpu');

const shape: [number, number, number] = [2, 33, 8];
const values = seededValues(4_242, shape[0] * shape[1] * shape[2]);
const inputs = { q: values(), k: values(), v: values(), g: values(), shape };

for (const backend of ['wasm', 'cpu']) {
  await tf.setBackend(backend);
  await tf.ready();
  check(tf.getBackend() === backend, `backend is ${tf.getBackend()}, expected ${backend}`);
  check(
    tf.getKernel(ElementwiseAttentionForward, backend) != null,
    `importing the package registered no ${ElementwiseAttentionForward} kernel for ${backend}`,
  );
  const errors = compareWithOracle(check, backend, inputs, { order: 6, causal: true });
  console.log(`${backend} (${kernelImplementation()}): ${errors}`);
}
console.log('ok');
