/**
 * The native host path of @elementwise/backend-node-cuda against the WebAssembly SIMD kernels of
 * @elementwise/backend-cpu and the composite (the op with no fused kernel), on tfjs `wasm` and
 * `cpu`, causal EA-6, B = 1, D = 64 and 512, forward and forward+backward, plus the recurrent
 * step cost per token: the shapes of the CPU adapter's benchmark. The three contestants run in
 * one process by swapping which kernels are registered for the active backend; calls are
 * interleaved so background load affects them alike.
 *
 *   pnpm --filter @elementwise/backend-node-cuda bench [-- --json out.json]
 *
 * CUDA is timed only where a CUDA device is usable (`backendInfo().path === 'cuda'`); elsewhere
 * the run says so and times the host path. Dev-only: reuses attention's bench modules by relative
 * import.
 */
import { writeFileSync } from 'node:fs';
import { kernelConfigs as simdKernelConfigs } from '@elementwise/backend-cpu';
import { eaBackward, eaForward, relativeRmsError } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { type BenchBackend, configureTfjs, useBackend } from '../../attention/bench/backends.js';
import { formatMs, formatRatio, markdownTable } from '../../attention/bench/format.js';
import { GateError, lossGradients } from '../../attention/bench/gates.js';
import { disposeInputs, makeInputs } from '../../attention/bench/inputs.js';
import { describeMachine, machineInfo } from '../../attention/bench/machine.js';
import { measureStepCost } from '../../attention/bench/step_bench.js';
import { type Computation, timeInterleaved, timeOnce } from '../../attention/bench/timing.js';
import { elementwiseAttention } from '../../attention/src/index.js';
import { backendInfo, kernelConfigs as nativeKernelConfigs } from '../src/index.js';

const ORDER = 6;
const BACKENDS: BenchBackend[] = ['wasm', 'cpu'];
const CHANNELS = [64, 512];
const LENGTHS = [1024, 4096, 16384, 65536];
/** D = 512 stops at 16 384, as in the CPU adapter's benchmark (composite memory and run budget). */
const MAX_LENGTH: Record<number, number> = { 64: 65536, 512: 16384 };
/** The composite is skipped where one call is predicted to exceed this. */
const CALL_LIMIT_MS = 15_000;
const ROUND_BUDGET_MS = 3000;
const STEP_POSITIONS = [1024, 16384, 65536];
const STEPS = 300;

type Contestant = 'native' | 'wasm-simd' | 'composite';
const CONTESTANTS: Contestant[] = ['native', 'wasm-simd', 'composite'];
const LABEL: Record<Contestant, string> = {
  native: `native ${backendInfo().path}`,
  'wasm-simd': 'backend-cpu SIMD',
  composite: 'composite',
};
type Form = 'forward' | 'forward+backward';
const FORMS: Form[] = ['forward', 'forward+backward'];

interface Row {
  backend: BenchBackend;
  channels: number;
  length: number;
  form: Form;
  ms: Partial<Record<Contestant, number>>;
  skipped: Partial<Record<Contestant, string>>;
}

/** Registers exactly one contestant's kernels for `backend` (none for the composite). */
function use(contestant: Contestant, backend: string): void {
  for (const config of [...nativeKernelConfigs, ...simdKernelConfigs]) {
    if (config.backendName !== backend) continue;
    if (tf.getKernel(config.kernelName, backend) != null) {
      tf.unregisterKernel(config.kernelName, backend);
    }
  }
  const configs =
    contestant === 'native'
      ? nativeKernelConfigs
      : contestant === 'wasm-simd'
        ? simdKernelConfigs
        : [];
  for (const config of configs) if (config.backendName === backend) tf.registerKernel(config);
}

const ea = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) =>
  elementwiseAttention(q, k, v, { order: ORDER, causal: true }) as tf.Tensor3D;

/** Forward and gradients of one contestant at a small size against the float64 oracle. */
function gate(contestant: Contestant, backend: BenchBackend, channels: number): string {
  use(contestant, backend);
  const inputs = makeInputs(1, 193, channels, 31);
  try {
    const dims = { batch: 1, queryLength: 193, keyLength: 193, channels };
    const oracle = { q: inputs.q.dataSync(), k: inputs.k.dataSync(), v: inputs.v.dataSync(), dims };
    const options = { order: ORDER, causal: true };
    const expected = eaBackward(oracle, inputs.cotangent.dataSync(), options);
    const y = ea(inputs.q, inputs.k, inputs.v);
    const grads = lossGradients(ea, inputs);
    const errors = {
      y: relativeRmsError(eaForward(oracle, options).y, y.dataSync()),
      dq: relativeRmsError(expected.dq, grads[0].dataSync()),
      dk: relativeRmsError(expected.dk, grads[1].dataSync()),
      dv: relativeRmsError(expected.dv, grads[2].dataSync()),
    };
    tf.dispose([y, ...grads]);
    for (const [name, error] of Object.entries(errors)) {
      if (!(error <= 1e-5)) {
        throw new GateError(
          `${LABEL[contestant]} ${name} on ${backend} (D = ${channels}) differs from the float64 oracle: relative RMS ${error.toExponential(1)} > 1e-5`,
        );
      }
    }
    return Object.entries(errors)
      .map(([name, error]) => `${name} ${error.toExponential(1)}`)
      .join(', ');
  } finally {
    disposeInputs(inputs);
  }
}

async function benchShape(
  backend: BenchBackend,
  channels: number,
  length: number,
  compositeForecast: Map<Form, number>,
): Promise<Row[]> {
  const inputs = makeInputs(1, length, channels, 7);
  const rows: Row[] = [];
  try {
    for (const form of FORMS) {
      const run: Computation =
        form === 'forward'
          ? () => ea(inputs.q, inputs.k, inputs.v)
          : () => lossGradients(ea, inputs);
      const row: Row = { backend, channels, length, form, ms: {}, skipped: {} };
      const live: Contestant[] = [];
      let round = 0;
      for (const contestant of CONTESTANTS) {
        const predicted = contestant === 'composite' ? (compositeForecast.get(form) ?? 0) : 0;
        if (predicted > CALL_LIMIT_MS) {
          row.skipped[contestant] = `predicted ${(predicted / 1000).toFixed(0)} s per call`;
          continue;
        }
        use(contestant, backend);
        const warm = await timeOnce(run);
        round += warm;
        live.push(contestant);
        if (contestant === 'composite') compositeForecast.set(form, warm * 4.2);
      }
      const rounds = Math.max(3, Math.min(9, Math.floor(ROUND_BUDGET_MS / round)));
      const timings = await timeInterleaved(
        live.map((contestant) => () => {
          use(contestant, backend);
          return run();
        }),
        rounds,
      );
      live.forEach((contestant, i) => {
        row.ms[contestant] = timings[i].medianMs;
      });
      if (row.ms.composite !== undefined) compositeForecast.set(form, row.ms.composite * 4.2);
      console.log(
        `  ${backend} D=${channels} L=${length} ${form}: ${CONTESTANTS.map((c) => `${LABEL[c]} ${row.ms[c] === undefined ? `skipped (${row.skipped[c]})` : `${formatMs(row.ms[c])} ms`}`).join(', ')} (${rounds} rounds)`,
      );
      rows.push(row);
    }
  } finally {
    disposeInputs(inputs);
  }
  return rows;
}

function shapeTable(rows: Row[]): string {
  const show = (row: Row, c: Contestant) =>
    row.ms[c] === undefined ? `— (${row.skipped[c] ?? 'not run'})` : formatMs(row.ms[c]);
  const ratio = (row: Row, a: Contestant, b: Contestant) =>
    row.ms[a] !== undefined && row.ms[b] !== undefined ? formatRatio(row.ms[a] / row.ms[b]) : '—';
  return markdownTable(
    [
      'backend',
      'D',
      'L',
      'form',
      `${LABEL.native} ms`,
      'SIMD ms',
      'composite ms',
      'SIMD/native',
      'composite/native',
    ],
    rows.map((row) => [
      row.backend,
      row.channels,
      row.length,
      row.form,
      show(row, 'native'),
      show(row, 'wasm-simd'),
      show(row, 'composite'),
      ratio(row, 'wasm-simd', 'native'),
      ratio(row, 'composite', 'native'),
    ]),
  );
}

async function main(): Promise<void> {
  const jsonIndex = process.argv.indexOf('--json');
  const jsonPath = jsonIndex >= 0 ? process.argv[jsonIndex + 1] : undefined;
  if (jsonIndex >= 0 && !jsonPath) throw new Error('--json needs a file name');
  configureTfjs();
  const info = backendInfo();
  const machine = describeMachine(machineInfo());
  console.log(`# Native host path vs WASM SIMD vs composite\n\n${machine}`);
  const device = info.path === 'cuda' ? ` (${info.device})` : '';
  console.log(`backend-node-cuda: path ${info.path}${device}; ${info.reason}`);
  if (info.path !== 'cuda') {
    console.log(
      '*** CUDA NOT MEASURED: no usable CUDA device on this machine; timing the host path ***',
    );
  }

  const gates: string[] = [];
  const rows: Row[] = [];
  const steps: string[][] = [];
  for (const backend of BACKENDS) {
    if (!(await useBackend(backend))) throw new Error(`tfjs backend ${backend} did not initialise`);
    for (const channels of CHANNELS) {
      for (const contestant of ['native', 'wasm-simd'] as const) {
        const result = gate(contestant, backend, channels);
        gates.push(`${LABEL[contestant]} on ${backend}, D = ${channels}: ${result}`);
        console.log(`gate ${gates.at(-1)}`);
      }
    }
    for (const contestant of CONTESTANTS) {
      use(contestant, backend);
      await measureStepCost(STEP_POSITIONS[0], STEPS, ORDER, 2);
      const costs = [];
      for (const position of STEP_POSITIONS) {
        costs.push(await measureStepCost(position, STEPS, ORDER, 5));
      }
      const line = costs.map((c) => c.microsecondsPerToken.toFixed(0));
      console.log(`  step ${backend} ${LABEL[contestant]}: ${line.join(' / ')} µs/token`);
      steps.push([backend, LABEL[contestant], ...line]);
    }
    for (const channels of CHANNELS) {
      const forecast = new Map<Form, number>();
      for (const length of LENGTHS.filter((l) => l <= MAX_LENGTH[channels])) {
        rows.push(...(await benchShape(backend, channels, length, forecast)));
      }
    }
    use('native', backend);
  }

  const report = [
    `Machine: ${machine}. backend-node-cuda path: ${info.path}; ${info.reason}.`,
    '',
    '### Correctness gates (causal EA-6, B = 1, L = 193, relative RMS vs float64 oracle)',
    '',
    ...gates.map((g) => `- ${g}`),
    '',
    '### Causal EA-6, B = 1, median ms',
    '',
    shapeTable(rows),
    '',
    `### Recurrent step, D = 64, µs per token (median of 5 runs of ${STEPS} steps)`,
    '',
    markdownTable(['backend', 'kernels', ...STEP_POSITIONS.map((p) => `position ${p}`)], steps),
  ].join('\n');
  console.log(`\n${report}`);
  if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ info, gates, rows, steps }, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
