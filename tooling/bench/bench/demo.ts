/**
 * `pnpm --filter @elementwise/bench demo` (also `pnpm --filter @elementwise/attention demo`):
 * element-wise attention doing real work in under a minute on two cores (wasm backend;
 * `--backend cpu` for the pure-JS one).
 *
 *   1. causal EA-6 and its gradient on a [2, 128, 64] batch, checked against the float64 oracle;
 *   2. a 64-token prompt prefilled in parallel, then 64 tokens generated one step at a time,
 *      equal to the parallel causal output, with the generation speed;
 *   3. EA-6 against the fastest softmax attention at L = 1024 and 4096 (forward + backward).
 */
import { parseArgs } from 'node:util';
import {
  type AttentionState,
  describeVariant,
  disposeState,
  elementwiseAttention,
  elementwiseAttentionStep,
  fastestSoftmaxVariant,
  softmaxAttention,
} from '@elementwise/attention';
import { eaBackward, eaForward, relativeRmsError } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkSoftmaxRows,
  disposeInputs,
  formatMs,
  formatRatio,
  lossGradients,
  makeInputs,
  markdownTable,
  timeInterleaved,
  timeOnce,
} from '../src/index.js';
import { configureTfjs, useBackend } from '../src/node.js';

const ORDER = 6;
const TOLERANCE = 1e-5;

function verdict(error: number): string {
  return `${error.toExponential(1)} ${error <= TOLERANCE ? '(ok, ≤ 1e-5)' : '(TOO LARGE)'}`;
}

/** wasm unless `--backend cpu` asks otherwise; cpu when wasm cannot initialise. */
async function chooseBackend(): Promise<string> {
  const { values } = parseArgs({
    // `pnpm demo -- --backend cpu` passes the `--` on.
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: { backend: { type: 'string', default: 'wasm' } },
  });
  if (values.backend === 'cpu') {
    if (await useBackend('cpu')) return 'cpu';
    throw new Error('the cpu tfjs backend could not initialise');
  }
  if (values.backend !== 'wasm')
    throw new Error(`--backend must be wasm or cpu, got '${values.backend}'`);
  if (await useBackend('wasm')) return 'wasm';
  console.log(
    'note: the wasm backend failed to initialise here; running on the pure-JS cpu backend instead',
  );
  if (!(await useBackend('cpu')))
    throw new Error('neither the wasm nor the cpu tfjs backend could initialise');
  return 'cpu';
}

/** 1. Forward and gradient of causal EA-6 against float64. Returns the worst error. */
function checkAgainstOracle(): number {
  const [batch, length, channels] = [2, 128, 64];
  console.log(`\n1. Causal EA-${ORDER} on q, k, v of shape [${batch}, ${length}, ${channels}]`);
  const inputs = makeInputs(batch, length, channels, 7);
  const attention = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) =>
    elementwiseAttention(q, k, v, { order: ORDER, causal: true });
  const y = attention(inputs.q, inputs.k, inputs.v);
  // The gradient of sum(y ⊙ g) for a fixed g: what backpropagation hands the op in training.
  const [dq, dk, dv] = lossGradients(attention, inputs);
  const oracleInputs = {
    q: inputs.q.dataSync(),
    k: inputs.k.dataSync(),
    v: inputs.v.dataSync(),
    dims: { batch, queryLength: length, keyLength: length, channels },
  };
  const reference = eaForward(oracleInputs, { order: ORDER, causal: true });
  const gradients = eaBackward(oracleInputs, inputs.cotangent.dataSync(), {
    order: ORDER,
    causal: true,
  });
  const errors = {
    y: relativeRmsError(reference.y, y.dataSync()),
    dq: relativeRmsError(gradients.dq, dq.dataSync()),
    dk: relativeRmsError(gradients.dk, dk.dataSync()),
    dv: relativeRmsError(gradients.dv, dv.dataSync()),
  };
  const sample = Array.from(y.dataSync().subarray(0, 4), (x) => x.toFixed(4)).join(', ');
  console.log(`   y[0, 0, 0:4] = ${sample}`);
  console.log('   relative RMS error vs the float64 oracle (eaForward / eaBackward):');
  for (const [name, error] of Object.entries(errors))
    console.log(`     ${name.padEnd(2)}  ${verdict(error)}`);
  tf.dispose([y, dq, dk, dv]);
  disposeInputs(inputs);
  return Math.max(...Object.values(errors));
}

/** 2. Prefill, then generate token by token; the steps must equal the parallel causal output. */
function generateStepByStep(): number {
  const [prompt, generated, channels] = [64, 64, 64];
  const total = prompt + generated;
  console.log(
    `\n2. Recurrent generation: prefill ${prompt} tokens in parallel, then ${generated} single steps`,
  );
  const inputs = makeInputs(1, total, channels, 9);
  const head = (x: tf.Tensor3D) => tf.slice(x, [0, 0, 0], [1, prompt, channels]);
  const [qp, kp, vp] = [inputs.q, inputs.k, inputs.v].map(head);
  const prefill = elementwiseAttention(qp, kp, vp, {
    order: ORDER,
    causal: true,
    returnFinalState: true,
  });
  const stateBytes = prefill.finalState.s.size * 4 * 2;
  // Each step's inputs are sliced up front so that the timed loop is the recurrence alone.
  const token = (x: tf.Tensor3D, i: number) =>
    tf.reshape(tf.slice(x, [0, i, 0], [1, 1, channels]), [1, channels]);
  const tokens = Array.from({ length: generated }, (_, i) =>
    [inputs.q, inputs.k, inputs.v].map((x) => token(x, prompt + i)),
  );

  /** Generates every token from the prefilled state (left intact); returns outputs and seconds. */
  const generate = () => {
    const outputs = new Float32Array(generated * channels);
    let state: AttentionState = prefill.finalState;
    const start = performance.now();
    tokens.forEach(([q, k, v], i) => {
      const step = elementwiseAttentionStep(q, k, v, state, { order: ORDER });
      outputs.set(step.y.dataSync(), i * channels);
      step.y.dispose();
      if (state !== prefill.finalState) disposeState(state);
      state = step.state;
    });
    const seconds = (performance.now() - start) / 1000;
    disposeState(state);
    return { outputs, seconds };
  };
  generate(); // warm-up: the first steps would otherwise time JIT compilation
  const { outputs, seconds } = generate();
  disposeState(prefill.finalState);

  const parallel = elementwiseAttention(inputs.q, inputs.k, inputs.v, {
    order: ORDER,
    causal: true,
  });
  const tail = tf.slice(parallel, [0, prompt, 0], [1, generated, channels]);
  const error = relativeRmsError(tail.dataSync(), outputs);
  console.log(
    `   state carried between steps: s and z of shape [1, ${ORDER + 1}, ${channels}] (${stateBytes} bytes, whatever the position)`,
  );
  console.log(
    `   step outputs vs the parallel causal output at positions ${prompt}..${total - 1}: relative RMS ${verdict(error)}`,
  );
  console.log(
    `   ${(generated / seconds).toFixed(0)} tokens/s (${((seconds * 1e6) / generated).toFixed(0)} µs per token, reading each output)`,
  );
  tf.dispose([qp, kp, vp, prefill.y, parallel, tail, ...tokens.flat()]);
  disposeInputs(inputs);
  return error;
}

/** 3. EA-6 vs softmax attention, forward + backward, causal, B = 1, D = 64. */
async function compareWithSoftmax(backend: string): Promise<void> {
  const lengths = backend === 'wasm' ? [1024, 4096] : [512, 1024];
  console.log(`\n3. Forward + backward time, causal, B = 1, D = 64, ${backend} backend`);
  if (backend !== 'wasm')
    console.log(
      '   (the cpu backend is pure JS and slow: shorter lengths keep the demo under a minute)',
    );
  const rows: Array<Array<string | number>> = [];
  for (const length of lengths) {
    const inputs = makeInputs(1, length, 64, 3);
    const variant = fastestSoftmaxVariant(backend, length);
    const ea = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) =>
      elementwiseAttention(q, k, v, { order: ORDER, causal: true });
    const sa = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) =>
      softmaxAttention(q, k, v, { causal: true, variant });
    // The baseline is only worth timing if it is right: spot-check its output rows against float64.
    const y = sa(inputs.q, inputs.k, inputs.v);
    checkSoftmaxRows(y, inputs);
    y.dispose();
    const computations = [ea, sa].map((attention) => () => lossGradients(attention, inputs));
    for (const computation of computations) await timeOnce(computation);
    const [eaTime, saTime] = await timeInterleaved(computations, 3);
    rows.push([
      length,
      formatMs(eaTime.medianMs),
      formatMs(saTime.medianMs),
      formatRatio(saTime.medianMs / eaTime.medianMs),
    ]);
    disposeInputs(inputs);
    console.log(`   L = ${length}: softmax baseline = ${describeVariant(variant)}`);
  }
  console.log('');
  console.log(
    markdownTable(['L', 'EA-6 ms', 'softmax ms', 'softmax / EA-6'], rows).replace(/^/gm, '   '),
  );
  console.log(
    '   (median of 3 interleaved runs after a warm-up; `pnpm --filter @elementwise/bench bench` has the full comparison)',
  );
}

async function main(): Promise<void> {
  configureTfjs();
  const started = performance.now();
  const backend = await chooseBackend();
  console.log(
    `Element-wise attention (EA, arXiv 2501.05730) on TensorFlow.js ${tf.version_core}, backend: ${backend}`,
  );
  const worst = Math.max(checkAgainstOracle(), generateStepByStep());
  await compareWithSoftmax(backend);
  console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  if (!(worst <= TOLERANCE)) {
    console.error(`FAILED: an error above ${TOLERANCE} was found (see above)`);
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
