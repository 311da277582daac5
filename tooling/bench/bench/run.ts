/**
 * `pnpm --filter @elementwise/bench bench` (also run by `pnpm bench`): the composite
 * element-wise attention op (EA-2, EA-6) against softmax attention (SA) on tfjs `cpu` and
 * `wasm`, causal, B = 1, D = 64, forward and forward+backward, plus the recurrent per-token cost. Every configuration passes a float64 correctness gate before it is
 * timed. Flags: see cli.ts (`--help`).
 */
import { writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import {
  clearSoftmaxMaskCache,
  describeVariant,
  ElementwiseAttentionForward,
  elementwiseAttention,
  fastestSoftmaxVariant,
  softmaxAttention,
} from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import {
  type AttentionInputs,
  checkEaGradients,
  checkEaPrefix,
  checkSoftmaxRows,
  checkSoftmaxVariant,
  disposeInputs,
  FORMS,
  type Form,
  formatMegabytes,
  formatMs,
  formatRatio,
  formCall,
  GateError,
  makeInputs,
  markdownTable,
  measureStepCost,
  peakBytes,
  type StepCost,
  timeInterleaved,
  timeOnce,
} from '../src/index.js';
import {
  type BenchBackend,
  configureTfjs,
  describeMachine,
  describeWasm,
  type MachineInfo,
  machineInfo,
  useBackend,
} from '../src/node.js';
import { type BenchOptions, parseBenchOptions } from './cli.js';

const BATCH = 1;
const CHANNELS = 64;
/** SA is skipped where one call is predicted to take longer than this. */
const TIME_LIMIT_MS = 60_000;
/** wasm32 heaps stop at 4 GiB; leave room for the inputs, the EA runs and fragmentation. */
const WASM_MEMORY_LIMIT = 3 * 2 ** 30;
const STEPS = 200;

type ContestantName = 'EA-2' | 'EA-6' | 'SA';

interface Contestant {
  name: ContestantName;
  attention: (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D;
}

interface Measurement {
  backend: BenchBackend;
  length: number;
  form: Form;
  contestant: ContestantName;
  medianMs?: number;
  samplesMs?: number[];
  peakBytes?: number;
  skipped?: string;
}

interface BackendReport {
  backend: BenchBackend;
  available: boolean;
  notes: string[];
  gates: Record<string, number>;
  softmaxVariants: Record<number, string>;
  measurements: Measurement[];
  steps: StepCost[];
}

function contestants(backend: BenchBackend, length: number): Contestant[] {
  const variant = fastestSoftmaxVariant(backend, length);
  const ea = (order: number) => (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) =>
    elementwiseAttention(q, k, v, { order, causal: true }) as tf.Tensor3D;
  return [
    { name: 'EA-2', attention: ea(2) },
    { name: 'EA-6', attention: ea(6) },
    { name: 'SA', attention: (q, k, v) => softmaxAttention(q, k, v, { causal: true, variant }) },
  ];
}

/** Timed rounds: fewer where one call is long (all of them interleave; see timeInterleaved). */
function plannedRounds(slowestCallMs: number, quick: boolean): number {
  if (quick) return slowestCallMs > 2000 ? 1 : 3;
  if (slowestCallMs > 15_000) return 1;
  if (slowestCallMs > 3000) return 3;
  return 5;
}

/** What SA at this length is predicted to cost from the last length it ran at: O(L²) in time and memory. */
interface SoftmaxHistory {
  length: number;
  medianMs: number;
  peakBytes: number;
}

function softmaxSkipReason(
  backend: BenchBackend,
  length: number,
  previous: SoftmaxHistory | 'skipped' | undefined,
): string | undefined {
  if (previous === 'skipped') return 'skipped at a shorter length already';
  if (previous === undefined) return undefined;
  const growth = (length / previous.length) ** 2;
  const predictedMs = previous.medianMs * growth;
  const predictedBytes = previous.peakBytes * growth;
  const memoryLimit = backend === 'wasm' ? WASM_MEMORY_LIMIT : totalmem() / 2;
  if (predictedBytes > memoryLimit) {
    const where =
      backend === 'wasm'
        ? 'the wasm heap limit (4 GiB, 3 GiB usable here)'
        : 'half the machine memory';
    return `predicted peak ${formatMegabytes(predictedBytes)} MB (quadratic from L = ${previous.length}) exceeds ${where}`;
  }
  if (predictedMs > TIME_LIMIT_MS) {
    return `predicted ${(predictedMs / 1000).toFixed(0)} s per call (quadratic from L = ${previous.length}) exceeds the ${TIME_LIMIT_MS / 1000} s limit`;
  }
  return undefined;
}

async function benchBackend(backend: BenchBackend, options: BenchOptions): Promise<BackendReport> {
  const report: BackendReport = {
    backend,
    available: false,
    notes: [],
    gates: {},
    softmaxVariants: {},
    measurements: [],
    steps: [],
  };
  if (!(await useBackend(backend))) {
    report.notes.push(`tfjs backend '${backend}' failed to initialise here; skipped`);
    console.log(`\n## ${backend}: failed to initialise, skipped`);
    return report;
  }
  report.available = true;
  const details = backend === 'wasm' ? ` (${await describeWasm()})` : '';
  console.log(`\n## ${backend}${details}`);
  // This benchmark measures the composite op; a fused kernel registered by some import would
  // silently replace it.
  if (tf.getKernel(ElementwiseAttentionForward, backend) !== undefined) {
    throw new Error(
      `a fused ${ElementwiseAttentionForward} kernel is registered for '${backend}'; run.ts measures the composite`,
    );
  }
  await runSmallGates(report, options);

  const history: Record<Form, SoftmaxHistory | 'skipped' | undefined> = {
    forward: undefined,
    'forward+backward': undefined,
  };
  for (const length of options.lengths) {
    const inputs = makeInputs(BATCH, length, CHANNELS);
    for (const form of FORMS) {
      const skip = softmaxSkipReason(backend, length, history[form]);
      const rounds = await measureConfiguration(report, inputs, form, skip, options);
      const sa = find(report, length, form, 'SA');
      history[form] =
        sa?.medianMs !== undefined && sa.peakBytes !== undefined
          ? { length, medianMs: sa.medianMs, peakBytes: sa.peakBytes }
          : 'skipped';
      console.log(progressLine(report, length, form, rounds));
    }
    disposeInputs(inputs);
  }

  for (const position of options.stepPositions) {
    const cost = await measureStepCost(position, options.quick ? 50 : STEPS);
    report.steps.push(cost);
    console.log(
      `step  position ${position}: ${cost.microsecondsPerToken.toFixed(0)} µs/token (${cost.tokensPerSecond.toFixed(0)} tokens/s), vs float64 ${cost.error.toExponential(1)}`,
    );
  }
  return report;
}

/** EA-2/EA-6 outputs and gradients, and every SA formulation the run will use, vs float64. */
async function runSmallGates(report: BackendReport, options: BenchOptions): Promise<void> {
  for (const order of [2, 6]) {
    const check = await checkEaGradients(order);
    report.gates[`EA-${order} B=2 L=97 D=24 max(y, dq, dk, dv)`] = Math.max(
      check.forward,
      check.dq,
      check.dk,
      check.dv,
    );
  }
  const checked = new Set<string>();
  for (const length of options.lengths) {
    const variant = fastestSoftmaxVariant(report.backend, length);
    report.softmaxVariants[length] = describeVariant(variant);
    const key = JSON.stringify(variant);
    if (checked.has(key)) continue;
    checked.add(key);
    const check = checkSoftmaxVariant(variant);
    report.gates[
      `SA ${describeVariant(variant)}: max(y, dq, dk, dv) at L=11 (finite differences) and L=300`
    ] = Math.max(...Object.values(check.small), ...Object.values(check.medium));
  }
  console.log(
    'gates passed: EA-2/EA-6 outputs and gradients, and every SA variant used, match float64',
  );
}

/**
 * One (backend, L, form): gate the outputs, profile each contestant's peak memory (a separate
 * call), warm up, then time all of them in interleaved rounds. Returns the number of rounds.
 */
async function measureConfiguration(
  report: BackendReport,
  inputs: AttentionInputs,
  form: Form,
  softmaxSkip: string | undefined,
  options: BenchOptions,
): Promise<number> {
  const { backend } = report;
  const length = inputs.q.shape[1];
  clearSoftmaxMaskCache();
  const tensorsBefore = tf.memory().numTensors;
  const active = contestants(backend, length).filter((c) => !(c.name === 'SA' && softmaxSkip));
  const firstCallMs: number[] = [];
  const peaks: number[] = [];
  for (const contestant of active) {
    if (form === 'forward') gateForward(contestant, inputs, report);
    // Counted from a clean cache, so SA's peak includes building its causal mask.
    clearSoftmaxMaskCache();
    const start = performance.now();
    peaks.push(await peakBytes(formCall(form, inputs, contestant.attention)));
    const profiledMs = performance.now() - start;
    // The profiled call doubles as a warm-up where a call is long; short ones get another.
    const warmupMs =
      profiledMs > 5000 ? profiledMs : await timeOnce(formCall(form, inputs, contestant.attention));
    firstCallMs.push(warmupMs);
  }
  const rounds = plannedRounds(Math.max(...firstCallMs), options.quick);
  const timings = await timeInterleaved(
    active.map((c) => formCall(form, inputs, c.attention)),
    rounds,
  );
  active.forEach((contestant, i) => {
    const { medianMs, samplesMs } = timings[i];
    const measurement = { backend, length, form, contestant: contestant.name };
    report.measurements.push({ ...measurement, medianMs, samplesMs, peakBytes: peaks[i] });
  });
  if (softmaxSkip) {
    report.measurements.push({ backend, length, form, contestant: 'SA', skipped: softmaxSkip });
  }
  clearSoftmaxMaskCache();
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (leaked !== 0)
    report.notes.push(`${backend} L=${length} ${form}: ${leaked} tensors left behind`);
  return rounds;
}

/** Correctness gate on the very output about to be timed: the full causal sequence vs float64. */
function gateForward(contestant: Contestant, inputs: AttentionInputs, report: BackendReport): void {
  const length = inputs.q.shape[1];
  const y = contestant.attention(inputs.q, inputs.k, inputs.v);
  try {
    if (contestant.name === 'SA') {
      report.gates[`SA L=${length}: first and last 8 rows`] = checkSoftmaxRows(y, inputs);
    } else {
      const order = contestant.name === 'EA-2' ? 2 : 6;
      report.gates[`${contestant.name} L=${length}: all positions`] = checkEaPrefix(
        y,
        inputs,
        order,
        length,
      ).error;
    }
  } finally {
    y.dispose();
  }
}

function find(
  report: BackendReport,
  length: number,
  form: Form,
  name: ContestantName,
): Measurement | undefined {
  return report.measurements.find(
    (m) => m.length === length && m.form === form && m.contestant === name,
  );
}

function progressLine(report: BackendReport, length: number, form: Form, rounds: number): string {
  const parts = (['EA-2', 'EA-6', 'SA'] as const).map((name) => {
    const m = find(report, length, form, name);
    return `${name} ${m?.medianMs === undefined ? 'skipped' : `${formatMs(m.medianMs)} ms`}`;
  });
  return `${report.backend.padEnd(4)} L=${String(length).padEnd(5)} ${form.padEnd(16)} ${parts.join('  ')}  (median of ${rounds})`;
}

function resultsTable(reports: BackendReport[]): string {
  const rows: Array<Array<string | number>> = [];
  for (const report of reports) {
    const lengths = [...new Set(report.measurements.map((m) => m.length))];
    for (const length of lengths) {
      for (const form of FORMS) {
        const [ea2, ea6, sa] = (['EA-2', 'EA-6', 'SA'] as const).map((name) =>
          find(report, length, form, name),
        );
        const ms = (m?: Measurement) => (m?.medianMs === undefined ? '—' : formatMs(m.medianMs));
        const mb = (m?: Measurement) =>
          m?.peakBytes === undefined ? '—' : formatMegabytes(m.peakBytes);
        const ratio =
          sa?.medianMs !== undefined && ea6?.medianMs !== undefined
            ? formatRatio(sa.medianMs / ea6.medianMs)
            : '—';
        rows.push([
          report.backend,
          length,
          form,
          ms(ea2),
          ms(ea6),
          ms(sa),
          ratio,
          mb(ea2),
          mb(ea6),
          mb(sa),
        ]);
      }
    }
  }
  return markdownTable(
    [
      'backend',
      'L',
      'form',
      'EA-2 ms',
      'EA-6 ms',
      'SA ms',
      'SA/EA-6',
      'EA-2 MB',
      'EA-6 MB',
      'SA MB',
    ],
    rows,
  );
}

function stepTable(reports: BackendReport[]): string {
  const rows: Array<Array<string | number>> = [];
  for (const report of reports) {
    const first = report.steps[0];
    for (const cost of report.steps) {
      rows.push([
        report.backend,
        cost.position,
        cost.microsecondsPerToken.toFixed(0),
        cost.tokensPerSecond.toFixed(0),
        formatRatio(cost.microsecondsPerToken / first.microsecondsPerToken),
      ]);
    }
  }
  return markdownTable(
    [
      'backend',
      'position',
      'µs/token',
      'tokens/s',
      `vs position ${reports.find((r) => r.steps.length)?.steps[0].position ?? ''}`,
    ],
    rows,
  );
}

function printSummary(machine: MachineInfo, reports: BackendReport[], options: BenchOptions): void {
  console.log(
    `\n## Results: causal, B = ${BATCH}, D = ${CHANNELS}, median wall time per call (ms) and peak tensor memory (MB)\n`,
  );
  console.log(resultsTable(reports));
  const skipped = reports.flatMap((r) =>
    r.measurements
      .filter((m) => m.skipped)
      .map((m) => `- ${r.backend} L=${m.length} ${m.form}: SA skipped, ${m.skipped}`),
  );
  if (skipped.length) console.log(`\n${skipped.join('\n')}`);
  if (reports.some((r) => r.steps.length)) {
    console.log(
      `\n## Recurrent EA-6 step (B = 1, D = 64), ${options.quick ? 50 : STEPS} tokens after a parallel prefill\n`,
    );
    console.log(stepTable(reports));
  }
  console.log('\n## SA formulation used (fastest measured, see softmax_variants.ts)\n');
  for (const report of reports) {
    for (const [length, variant] of Object.entries(report.softmaxVariants))
      console.log(`- ${report.backend} L=${length}: ${variant}`);
  }
  const notes = reports.flatMap((r) => r.notes);
  if (notes.length) console.log(`\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}`);
  console.log(`\nMachine: ${describeMachine(machine)}`);
}

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2));
  configureTfjs();
  const machine = machineInfo();
  const started = performance.now();
  console.log(
    `# elementwise attention benchmark${options.quick ? ' (quick)' : ''}\n\n${describeMachine(machine)}`,
  );
  console.log(`lengths ${options.lengths.join(', ')}; backends ${options.backends.join(', ')}`);
  const reports: BackendReport[] = [];
  for (const backend of options.backends) reports.push(await benchBackend(backend, options));
  const finished = {
    ...machine,
    loadAverageAtEnd: machineInfo().loadAverage,
    totalSeconds: (performance.now() - started) / 1000,
  };
  printSummary(machine, reports, options);
  console.log(
    `Total ${finished.totalSeconds.toFixed(0)} s; load average at the end ${finished.loadAverageAtEnd.toFixed(1)}`,
  );
  if (options.jsonPath) {
    writeFileSync(
      options.jsonPath,
      `${JSON.stringify({ machine: finished, options, reports }, null, 2)}\n`,
    );
    console.log(`wrote ${options.jsonPath}`);
  }
}

main().catch((error: unknown) => {
  if (error instanceof GateError) {
    console.error(
      `\nABORTED, correctness gate failed (nothing after this point was timed): ${error.message}`,
    );
  } else {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  }
  process.exit(1);
});
