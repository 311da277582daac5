/**
 * The native host path of @elementwise/backend-node-cuda against the WebAssembly SIMD kernels of
 * @elementwise/backend-cpu and the composite (the op with no fused kernel), on tfjs `wasm` and
 * `cpu`, causal EA-6, B = 1, D = 64 and 512, forward and forward+backward, plus the recurrent
 * step cost per token: the shapes of the CPU adapter's benchmark. The three contestants run in
 * one process by swapping which kernels are registered for the active backend; calls are
 * interleaved so background load affects them alike.
 *
 *   pnpm --filter @elementwise/backend-node-cuda bench [-- --max-length N] [-- --json out.json]
 *
 * CUDA is timed only where a CUDA device is usable (`backendInfo().path === 'cuda'`); elsewhere
 * the run says so and times the host path. Dev-only: timing, inputs and gates come from
 * @elementwise/bench.
 */
import { writeFileSync } from 'node:fs';
import { kernelConfigs as simdKernelConfigs } from '@elementwise/backend-cpu';
import {
  type Computation,
  causalEa,
  checkEaOracle,
  describeGradientCheck,
  disposeInputs,
  FORMS,
  type Form,
  formatMs,
  formatRatioOf,
  formCall,
  makeInputs,
  markdownTable,
  measureStepCost,
  type RoundPlan,
  timeContestants,
} from '@elementwise/bench';
import {
  type BenchBackend,
  configureTfjs,
  describeMachine,
  machineInfo,
  parseLengthFlags,
  useBackend,
} from '@elementwise/bench/node';
import * as tf from '@tensorflow/tfjs-core';
import { backendInfo, kernelConfigs as nativeKernelConfigs } from '../src/index.js';

const ORDER = 6;
const BACKENDS: BenchBackend[] = ['wasm', 'cpu'];
const CHANNELS = [64, 512];
/** `--max-length N` drops longer sequences and step positions (a short run); `--json PATH`. */
const OPTIONS = parseLengthFlags(process.argv.slice(2));
const upToMaxLength = (length: number) => length <= OPTIONS.maxLength;
const LENGTHS = [1024, 4096, 16384, 65536].filter(upToMaxLength);
/** D = 512 stops at 16 384, as in the CPU adapter's benchmark (composite memory and run budget). */
const MAX_LENGTH: Record<number, number> = { 64: 65536, 512: 16384 };
/**
 * Every contestant at one (backend, D, L, form) in 3 to 9 interleaved rounds within 3 s; one
 * predicted to take over 15 s per call (in practice the composite) is skipped. Time grows
 * linearly with L, 4× per step.
 */
const PLAN: RoundPlan<Contestant> = {
  growth: { native: 4.2, 'wasm-simd': 4.2, composite: 4.2 },
  callLimitMs: 15_000,
  roundBudgetMs: 3000,
  minRounds: 3,
  maxRounds: 9,
  slowCallMs: Number.POSITIVE_INFINITY,
  slowBudgetMs: 0,
};
const STEP_POSITIONS = [1024, 16384, 65536].filter(upToMaxLength);
const STEPS = 300;

type Contestant = 'native' | 'wasm-simd' | 'composite';
const CONTESTANTS: Contestant[] = ['native', 'wasm-simd', 'composite'];
const LABEL: Record<Contestant, string> = {
  native: `native ${backendInfo().path}`,
  'wasm-simd': 'backend-cpu SIMD',
  composite: 'composite',
};

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

const ea = causalEa(ORDER);

/** Forward and gradients of one contestant at a small size against the float64 oracle. */
async function gate(contestant: Contestant, backend: BenchBackend, channels: number) {
  use(contestant, backend);
  const shape = { batch: 1, length: 193, channels, seed: 31 };
  const what = `${LABEL[contestant]} (D = ${channels})`;
  return describeGradientCheck(await checkEaOracle(what, shape, ORDER));
}

async function benchShape(
  backend: BenchBackend,
  channels: number,
  length: number,
  previous: Map<Form, Map<Contestant, number>>,
): Promise<Row[]> {
  const inputs = makeInputs(1, length, channels, 7);
  const rows: Row[] = [];
  try {
    for (const form of FORMS) {
      const run = formCall(form, inputs, ea);
      const withKernels = (contestant: Contestant) => () => {
        use(contestant, backend);
        return run();
      };
      const computations: Record<Contestant, Computation> = {
        native: withKernels('native'),
        'wasm-simd': withKernels('wasm-simd'),
        composite: withKernels('composite'),
      };
      const { timings, skipped } = await timeContestants(
        computations,
        CONTESTANTS,
        previous.get(form) as Map<Contestant, number>,
        PLAN,
      );
      const row: Row = { backend, channels, length, form, ms: {}, skipped: {} };
      for (const [contestant, reason] of skipped) row.skipped[contestant] = reason;
      for (const [contestant, { medianMs }] of timings) row.ms[contestant] = medianMs;
      const rounds = Math.max(...[...timings.values()].map((t) => t.rounds));
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
  const ratio = (row: Row, a: Contestant, b: Contestant) => formatRatioOf(row.ms[a], row.ms[b]);
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
  if (LENGTHS.length === 0) throw new Error(`--max-length ${OPTIONS.maxLength} leaves no length`);
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
        const result = await gate(contestant, backend, channels);
        gates.push(`${LABEL[contestant]} on ${backend}, D = ${channels}: ${result}`);
        console.log(`gate ${gates.at(-1)}`);
      }
    }
    for (const contestant of CONTESTANTS) {
      use(contestant, backend);
      if (STEP_POSITIONS.length > 0) await measureStepCost(STEP_POSITIONS[0], STEPS, ORDER, 2);
      const costs = [];
      for (const position of STEP_POSITIONS) {
        costs.push(await measureStepCost(position, STEPS, ORDER, 5));
      }
      const line = costs.map((c) => c.microsecondsPerToken.toFixed(0));
      console.log(`  step ${backend} ${LABEL[contestant]}: ${line.join(' / ')} µs/token`);
      steps.push([backend, LABEL[contestant], ...line]);
    }
    for (const channels of CHANNELS) {
      const previous = new Map<Form, Map<Contestant, number>>(FORMS.map((f) => [f, new Map()]));
      for (const length of LENGTHS.filter((l) => l <= MAX_LENGTH[channels])) {
        rows.push(...(await benchShape(backend, channels, length, previous)));
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
  if (OPTIONS.json)
    writeFileSync(OPTIONS.json, JSON.stringify({ info, gates, rows, steps }, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
