// A user of @elementwise/backend-node-cuda, as published: the prebuilt addon loads without a
// toolchain, `backendInfo()` says which path runs, and the op from @elementwise/attention runs
// the native kernels on tfjs `cpu`. Forward and gradients are compared with the float64 oracle.
import { ElementwiseAttentionBackward } from '@elementwise/attention';
import { backendInfo } from '@elementwise/backend-node-cuda';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { checkerFor } from './support/check.js';
import { seededValues } from './support/inputs.js';
import { compareWithOracle } from './support/oracle_comparison.js';

const check = checkerFor('@elementwise/backend-node-cuda');

const info = backendInfo();
console.log(`path ${info.path}: ${info.reason}`);
check(info.path !== 'unavailable', `no native addon loaded: ${info.reason}`);

await tf.setBackend('cpu');
check(
  tf.getKernel(ElementwiseAttentionBackward, 'cpu') != null,
  `importing the package registered no ${ElementwiseAttentionBackward} kernel for cpu`,
);
const shape: [number, number, number] = [2, 40, 6];
const values = seededValues(777, shape[0] * shape[1] * shape[2]);
const inputs = { q: values(), k: values(), v: values(), g: values(), shape };
for (const options of [
  { order: 4, causal: true },
  { order: 'exact' as const, causal: false },
]) {
  const errors = compareWithOracle(check, `order ${options.order}`, inputs, options);
  console.log(`order ${options.order} causal ${options.causal}: ${errors}`);
}
console.log('ok');
