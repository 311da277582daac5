/**
 * Browser side of bench/run.ts: on tfjs `webgpu`, causal EA-6 (B = 1, D = 64) with the fused
 * kernels against the same op with them unregistered (composite) and softmax attention (SA,
 * `softmaxAttention` of @elementwise/attention, the fastest tfjs formulation), forward and
 * forward+backward, over L; then the recurrent step's cost per token at two positions, fused and composite. Ratios
 * come from one run, timed in interleaved rounds. A fused result is reported only when it matches
 * the composite one (relative RMS ≤ 1e-5, the float32 contract bound).
 */
import '@tensorflow/tfjs-backend-webgpu';
import {
  type AttentionState,
  clearSoftmaxMaskCache,
  describeVariant,
  disposeState,
  ElementwiseAttentionBackward,
  ElementwiseAttentionForward,
  ElementwiseAttentionStep,
  elementwiseAttention,
  elementwiseAttentionStep,
  fastestSoftmaxVariant,
  softmaxAttention,
} from '@elementwise/attention';
import {
  type AttentionInputs,
  type Computation,
  disposeInputs,
  formatMs,
  formatOptionalMs,
  formatRatio,
  formatRatioOf,
  lossGradients,
  makeInputs,
  markdownTable,
  median,
  timeInterleaved,
  timeOnce,
} from '@elementwise/bench';
import { randomNormal, relativeRmsError } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { kernelConfigs, registerWebGPUKernels } from '../src/index.js';
import { describeAdapter } from '../test/adapter.js';

const ORDER = 6;
const CHANNELS = 64;
const DEFAULT_LENGTHS = [256, 1024, 4096, 16384];
/** A contestant predicted to take longer per call is skipped at that length. */
const CALL_LIMIT_MS = 60_000;
/** A call this slow is measured once (no warm-up, no rounds): its noise is small in relative terms. */
const SLOW_CALL_MS = 10_000;
/** Time for the rounds of one (L, form), unless MIN_ROUNDS take longer. */
const ROUND_BUDGET_MS = 15_000;
/** Rounds per (L, form): as many as the budget allows within these bounds; the median is kept. */
const MIN_ROUNDS = 3;
const MAX_ROUNDS = 7;
const GATE = 1e-5;

type Contestant = 'fused' | 'composite' | 'softmax';
type Form = 'forward' | 'forward+backward';

function setFused(enabled: boolean): void {
  if (enabled) {
    registerWebGPUKernels();
    return;
  }
  for (const config of kernelConfigs) {
    if (tf.getKernel(config.kernelName, 'webgpu') != null) {
      tf.unregisterKernel(config.kernelName, 'webgpu');
    }
  }
}

/** Runs `computation` with the fused kernels registered or not (the op checks per call). */
const withFused =
  (enabled: boolean, computation: Computation): Computation =>
  () => {
    setFused(enabled);
    try {
      return computation();
    } finally {
      setFused(true);
    }
  };

function computations(inputs: AttentionInputs) {
  const { q, k, v } = inputs;
  const ea = (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D) =>
    elementwiseAttention(a, b, c, { order: ORDER, causal: true });
  const sa = (a: tf.Tensor3D, b: tf.Tensor3D, c: tf.Tensor3D) =>
    softmaxAttention(a, b, c, { causal: true });
  const withGradients =
    (f: typeof ea): Computation =>
    () =>
      tf.tidy(() => lossGradients(f, inputs));
  const table: Record<Contestant, Record<Form, Computation>> = {
    fused: {
      forward: withFused(true, () => ea(q, k, v)),
      'forward+backward': withFused(true, withGradients(ea)),
    },
    composite: {
      forward: withFused(false, () => ea(q, k, v)),
      'forward+backward': withFused(false, withGradients(ea)),
    },
    softmax: { forward: () => sa(q, k, v), 'forward+backward': withGradients(sa) },
  };
  return table;
}

/** Fused and composite outputs of the forward pass agree (the gate before any ratio is shown). */
async function gate(table: ReturnType<typeof computations>): Promise<number> {
  const fused = table.fused.forward() as tf.Tensor;
  const composite = table.composite.forward() as tf.Tensor;
  const [a, b] = await Promise.all([fused.data(), composite.data()]);
  tf.dispose([fused, composite]);
  return relativeRmsError(b, a);
}

interface Row {
  length: number;
  form: Form;
  ms: Partial<Record<Contestant, number>>;
  notes: string[];
}

async function measure(
  length: number,
  form: Form,
  table: ReturnType<typeof computations>,
  previous: Row | undefined,
): Promise<Row> {
  const contestants: Contestant[] = ['fused', 'composite', 'softmax'];
  const notes: string[] = [];
  const active: Contestant[] = [];
  const ms: Partial<Record<Contestant, number>> = {};
  const firstCall: Partial<Record<Contestant, number>> = {};
  for (const name of contestants) {
    // Softmax grows as L², the others as L: predict from the previous length.
    const before = previous?.ms[name];
    const growth =
      name === 'softmax'
        ? (length / (previous?.length ?? length)) ** 2
        : length / (previous?.length ?? length);
    const predicted =
      previous == null ? 0 : before == null ? Number.POSITIVE_INFINITY : before * growth;
    if (predicted > CALL_LIMIT_MS) {
      const when = Number.isFinite(predicted) ? `${(predicted / 1000).toFixed(0)} s` : '> limit';
      notes.push(`${name} skipped (predicted ${when} per call)`);
      continue;
    }
    if (predicted > SLOW_CALL_MS) {
      // Pipelines are compiled at the shorter lengths already; one call is the measurement.
      ms[name] = await timeOnce(table[name][form]);
      notes.push(`${name}: one call`);
      continue;
    }
    await timeOnce(table[name][form]); // compiles pipelines, warms caches
    const once = await timeOnce(table[name][form]);
    if (once > SLOW_CALL_MS) {
      ms[name] = once;
      notes.push(`${name}: one call`);
      continue;
    }
    firstCall[name] = once;
    active.push(name);
  }
  const slowest = Math.max(1, ...active.map((name) => firstCall[name] ?? 0));
  const rounds = Math.max(
    MIN_ROUNDS,
    Math.min(MAX_ROUNDS, Math.floor(ROUND_BUDGET_MS / (slowest * active.length))),
  );
  const timings = await timeInterleaved(
    active.map((name) => table[name][form]),
    rounds,
  );
  active.forEach((name, i) => {
    ms[name] = timings[i].medianMs;
  });
  notes.push(`median of ${rounds} interleaved rounds`);
  return { length, form, ms, notes };
}

/**
 * A generation loop of the fused step after prefilling `position` tokens with the causal form:
 * `generate()` runs `steps` tokens from the prefilled state, reading each output as a decoder
 * would, and returns the wall time.
 */
function stepLoop(position: number, steps: number) {
  const row = (seed: number, scale: number) =>
    tf.tensor2d(randomNormal(CHANNELS, seed, scale), [1, CHANNELS]);
  const shape: [number, number, number] = [1, position, CHANNELS];
  const [q, k, v] = [21, 22, 23].map((seed) =>
    tf.tensor3d(randomNormal(position * CHANNELS, seed, 0.5), shape),
  );
  const prefill = elementwiseAttention(q, k, v, {
    order: ORDER,
    causal: true,
    returnFinalState: true,
  });
  tf.dispose([q, k, v, prefill.y]);
  const tokens = Array.from({ length: steps }, (_, i) => [
    row(100 + i, 0.5),
    row(200 + i, 0.5),
    row(300 + i, 1),
  ]);
  return {
    async generate(): Promise<number> {
      let state: AttentionState = prefill.finalState;
      const start = performance.now();
      for (const [qi, ki, vi] of tokens) {
        const { y, state: next } = elementwiseAttentionStep(qi, ki, vi, state, { order: ORDER });
        await y.data();
        y.dispose();
        if (state !== prefill.finalState) disposeState(state);
        state = next;
      }
      const elapsed = performance.now() - start;
      disposeState(state);
      return elapsed;
    },
    dispose() {
      tf.dispose(tokens.flat());
      disposeState(prefill.finalState);
    },
  };
}

/**
 * µs per token at each position, fused and composite (the step kernel unregistered), from
 * generation loops timed in interleaved rounds.
 */
async function stepCosts(
  positions: number[],
  steps: number,
  rounds: number,
): Promise<{ fused: number[]; composite: number[] }> {
  const loops = positions.map((position) => stepLoop(position, steps));
  const runs = loops.flatMap((loop) => [
    { fused: true, loop },
    { fused: false, loop },
  ]);
  const time = async ({ fused, loop }: (typeof runs)[number]) => {
    setFused(fused);
    try {
      return await loop.generate();
    } finally {
      setFused(true);
    }
  };
  const samples: number[][] = runs.map(() => []);
  for (const entry of runs) await time(entry);
  for (let round = 0; round < rounds; round++) {
    for (const [i, entry] of runs.entries()) samples[i].push(await time(entry));
  }
  for (const loop of loops) loop.dispose();
  const perToken = samples.map((times) => (median(times) / steps) * 1000);
  return {
    fused: positions.map((_, i) => perToken[2 * i]),
    composite: positions.map((_, i) => perToken[2 * i + 1]),
  };
}

export async function run(args: Record<string, string>): Promise<void> {
  const lengths = args.lengths ? args.lengths.split(',').map(Number) : DEFAULT_LENGTHS;
  registerWebGPUKernels();
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend failed to start');
  console.log(`adapter: ${await describeAdapter()}`);
  console.log(`tfjs ${tf.version_core}, backend ${tf.getBackend()}, ${navigator.userAgent}`);
  console.log(`causal EA-${ORDER}, B = 1, D = ${CHANNELS}; SA = softmax attention:`);
  for (const length of lengths) {
    console.log(`  L = ${length}: ${describeVariant(fastestSoftmaxVariant('webgpu', length))}`);
  }
  console.log(
    `fused kernels: ${[ElementwiseAttentionForward, ElementwiseAttentionBackward, ElementwiseAttentionStep].join(', ')}`,
  );
  console.log('');

  const rows: Row[] = [];
  const previous: Partial<Record<Form, Row>> = {};
  for (const length of lengths) {
    const inputs = makeInputs(1, length, CHANNELS, 11);
    const table = computations(inputs);
    const error = await gate(table);
    if (!(error <= GATE)) {
      disposeInputs(inputs);
      throw new Error(
        `L = ${length}: fused and composite outputs differ (relative RMS ${error.toExponential(2)}), no ratio reported`,
      );
    }
    for (const form of ['forward', 'forward+backward'] as const) {
      const row = await measure(length, form, table, previous[form]);
      row.notes.unshift(`fused vs composite ${error.toExponential(1)}`);
      previous[form] = row;
      rows.push(row);
      console.log(
        `L = ${length} ${form}: ${Object.entries(row.ms)
          .map(([n, t]) => `${n} ${formatMs(t ?? 0)} ms`)
          .join(', ')} (${row.notes.join('; ')})`,
      );
    }
    disposeInputs(inputs);
  }

  const cell = (ms: number | undefined) => formatOptionalMs(ms);
  const ratio = (a: number | undefined, b: number | undefined) => formatRatioOf(b, a);
  console.log('');
  console.log(
    markdownTable(
      [
        'L',
        'form',
        'fused ms',
        'composite ms',
        'SA ms',
        'fused speed-up vs composite',
        'fused speed-up vs SA',
        'notes',
      ],
      rows.map((row) => [
        row.length,
        row.form,
        cell(row.ms.fused),
        cell(row.ms.composite),
        cell(row.ms.softmax),
        ratio(row.ms.fused, row.ms.composite),
        ratio(row.ms.fused, row.ms.softmax),
        row.notes.join('; '),
      ]),
    ),
  );

  console.log('');
  const positions = [1024, 16384];
  const costs = await stepCosts(positions, 100, 5);
  console.log(
    markdownTable(
      ['prefilled position', 'fused step µs/token', 'composite step µs/token', 'fused speed-up'],
      positions.map((position, i) => [
        position,
        costs.fused[i].toFixed(0),
        costs.composite[i].toFixed(0),
        formatRatio(costs.composite[i] / costs.fused[i]),
      ]),
    ),
  );
  const [first, last] = [0, positions.length - 1];
  console.log(
    `fused step cost at ${positions[last]} / at ${positions[first]}: ${(costs.fused[last] / costs.fused[first]).toFixed(2)}`,
  );
  clearSoftmaxMaskCache();
  console.log(`tf.memory().numTensors at the end: ${tf.memory().numTensors}`);
}
