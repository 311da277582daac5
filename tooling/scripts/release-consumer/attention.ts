// A user of @elementwise/attention, as published: tfjs-core with the CPU backend, the public
// entry point only. Outputs are compared with the float64 oracle of @elementwise/math; a
// gradient must come out finite and no tensor may leak.
import { elementwiseAttention } from '@elementwise/attention';
import { eaForward, type Order } from '@elementwise/math';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { checkerFor } from './support/check.js';
import { seededValues } from './support/inputs.js';

const check = checkerFor('@elementwise/attention');

await tf.setBackend('cpu');
await tf.ready();
check(tf.getBackend() === 'cpu', `backend is ${tf.getBackend()}, expected cpu`);

// Deterministic inputs in [-1, 1): B = 2, L = 5, D = 3.
const [B, L, D] = [2, 5, 3];
const values = seededValues(12_345, B * L * D);
const [qv, kv, vv] = [values(), values(), values()];
const q = tf.tensor3d(qv, [B, L, D]);
const k = tf.tensor3d(kv, [B, L, D]);
const v = tf.tensor3d(vv, [B, L, D]);

const cases: { order: Order; causal: boolean }[] = [
  { order: 2, causal: true },
  { order: 6, causal: false },
  { order: 'exact', causal: false },
];
for (const { order, causal } of cases) {
  const before = tf.memory().numTensors;
  const y = elementwiseAttention(q, k, v, { order, causal });
  check(
    y.shape.join() === [B, L, D].join(),
    `order ${order} causal ${causal}: y has shape [${y.shape}], expected [${B}, ${L}, ${D}]`,
  );
  const got = y.dataSync();
  y.dispose();
  check(tf.memory().numTensors === before, `order ${order} causal ${causal}: tensors leaked`);
  const dims = { batch: B, queryLength: L, keyLength: L, channels: D };
  const want = eaForward({ q: qv, k: kv, v: vv, dims }, { order, causal }).y;
  let num = 0;
  let den = 0;
  want.forEach((w, i) => {
    num += (w - got[i]) ** 2;
    den += w * w;
  });
  const error = Math.sqrt(num / den);
  check(error <= 1e-5, `order ${order} causal ${causal}: relative RMS error ${error} > 1e-5`);
  console.log(
    `elementwiseAttention order ${order} causal ${causal}: rel. RMS error ${error.toExponential(2)}`,
  );
}

const grad = tf.grad((x: tf.Tensor) =>
  tf.sum(elementwiseAttention(x, k, v, { order: 2, causal: true })),
);
const dq = grad(q);
const dqValues = dq.dataSync();
check(
  dq.shape.join() === q.shape.join() && dqValues.every(Number.isFinite),
  'gradient with respect to q is not a finite tensor shaped like q',
);
dq.dispose();
tf.dispose([q, k, v]);
console.log(
  `gradient w.r.t. q: finite, |dq|max = ${Math.max(...dqValues.map(Math.abs)).toFixed(4)}`,
);
// A training step through projections needs tfjs-core's own gradients (MatMul, Reshape), which
// Node's tfjs-core entry does not register: importing the package must have done so.
const projections = ['query', 'key', 'value'].map((name, i) =>
  tf.variable(
    tf.tidy(() => tf.mul(tf.tensor2d(values().slice(0, D * D), [D, D]), 0.5 * (i + 1))),
    true,
    name,
  ),
);
const x = tf.tensor3d(values(), [B, L, D]);
const before = tf.memory().numTensors;
const { value, grads } = tf.variableGrads(() => {
  const flat = tf.reshape(x, [B * L, D]);
  const [pq, pk, pv] = projections.map((w) => tf.reshape(tf.matMul(flat, w), [B, L, D]));
  return tf.sum(
    tf.square(elementwiseAttention(pq, pk, pv, { order: 4, causal: true })),
  ) as tf.Scalar;
});
const names = Object.keys(grads);
check(names.length === 3, `projection gradients for ${names.length} variables, expected 3`);
for (const name of names) {
  check(grads[name].dataSync().every(Number.isFinite), `gradient of ${name} is not finite`);
}
tf.dispose([value, ...Object.values(grads)]);
check(tf.memory().numTensors === before, 'training step leaked tensors');
tf.dispose([x, ...projections]);
console.log(`projections: ${names.length} finite variable gradients`);
console.log('ok');
