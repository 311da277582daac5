/**
 * Fused EA-6 kernels of @elementwise/backend-cpu against the composite EA-6 (the same op with the
 * fused kernels unregistered) and softmax attention (SA), on tfjs `cpu` and `wasm`, causal, B = 1,
 * D = 64 and 512, forward and forward+backward; the recurrent step cost; and the fused forward
 * against a roofline measured in the same run.
 *
 *   pnpm --filter @elementwise/backend-cpu bench [-- --max-length N] [-- --json out.json]
 *
 * Dev-only: timing, inputs, gates, SA and the step measurement come from @elementwise/bench.
 */
import { writeFileSync } from 'node:fs';
import {
  clearSoftmaxMaskCache,
  describeVariant,
  fastestSoftmaxVariant,
} from '@elementwise/attention';
import {
  type ContestEntry,
  causalEa,
  checkEaOracle,
  checkSoftmaxVariant,
  collectGarbage,
  contestRows,
  disposeInputs,
  FORMS,
  type Form,
  formatMegabytes,
  formatMs,
  formatOptionalMs,
  GateError,
  type GradientCheck,
  KERNEL_CONTESTANTS,
  type KernelContestant,
  kernelContest,
  makeInputs,
  markdownTable,
  measureStepCost,
  peakBytes,
  type RoundPlan,
  type StepCost,
  timeContestants,
} from '@elementwise/bench';
import {
  type BenchBackend,
  configureTfjs,
  describeMachine,
  describeWasm,
  machineInfo,
  parseLengthFlags,
  useBackend,
} from '@elementwise/bench/node';
import * as tf from '@tensorflow/tfjs-core';
import { kernelConfigs, kernelImplementation, kernelsReady, setSimdEnabled } from '../src/index.js';
import { simdCallCounts } from '../src/simd/series_simd.js';
import { type MachineLimits, measureMachineLimits } from './limits.js';

const ORDER = 6;
const BATCH = 1;
const BACKENDS: BenchBackend[] = ['wasm', 'cpu'];
/** `--max-length N` drops longer sequences and step positions (a short run); `--json PATH`. */
const OPTIONS = parseLengthFlags(process.argv.slice(2));
const upToMaxLength = (length: number) => length <= OPTIONS.maxLength;
const LENGTHS = [256, 1024, 4096, 16384, 65536].filter(upToMaxLength);
/** D = 512 stops here: the composite's [L, 512] intermediates at L = 65536 would not fit the run
 * budget (nor, for wasm, its 4 GiB heap). */
const MAX_LENGTH: Record<number, number> = { 64: 65536, 512: 16384 };
const CHANNELS = [64, 512];
/** Whole-run budget: anything that would start after it is skipped. */
const RUN_BUDGET_MS = 7.5 * 60_000;
/** Peak memory is profiled (one more call) only for calls shorter than this. */
const PEAK_LIMIT_MS = 2500;
const STEP_POSITIONS = [1024, 16384, 65536].filter(upToMaxLength);
const STEPS = 500;

type Name = KernelContestant;
const NAMES = KERNEL_CONTESTANTS;

interface Measurement extends ContestEntry<Name> {
  backend: BenchBackend;
  channels: number;
  peakBytes?: number;
}

interface GateResult extends GradientCheck {
  backend: BenchBackend;
  channels: number;
}

const started = performance.now();
const elapsed = () => performance.now() - started;

/** Runs `body` with this backend's fused EA kernels unregistered: the op then runs its composite. */
function withoutFusedKernels<T>(backend: string, body: () => T): T {
  const configs = kernelConfigs.filter((c) => c.backendName === backend);
  for (const c of configs) tf.unregisterKernel(c.kernelName, backend);
  try {
    return body();
  } finally {
    for (const c of configs) tf.registerKernel(c);
  }
}

const ea = causalEa(ORDER);

/** Fused EA-6 forward and gradients at a small size against the float64 oracle. */
async function gateFused(backend: BenchBackend, channels: number): Promise<GateResult> {
  const shape = { batch: BATCH, length: 193, channels, seed: 31 };
  const check = await checkEaOracle(`fused EA-6 (D = ${channels})`, shape, ORDER);
  return { backend, channels, ...check };
}

/**
 * Rounds per (backend, D, L, form). Time grows 4× per step of L, linearly for EA, about
 * quadratically for SA.
 */
const PLAN: RoundPlan<Name> = {
  growth: { 'fused EA-6': 4.2, 'composite EA-6': 4.2, SA: 16 },
  callLimitMs: 20_000,
  roundBudgetMs: 4000,
  minRounds: 3,
  maxRounds: 7,
  slowCallMs: 1000,
  slowBudgetMs: 15_000,
  budgetSkip: (predictedMs) =>
    elapsed() + 2 * predictedMs > RUN_BUDGET_MS ? 'run budget exhausted' : undefined,
};

async function benchBackendChannels(
  backend: BenchBackend,
  channels: number,
  measurements: Measurement[],
  notes: string[],
): Promise<void> {
  const previous = new Map<Form, Map<Name, number>>(FORMS.map((form) => [form, new Map()]));
  for (const length of LENGTHS) {
    if (length > MAX_LENGTH[channels]) {
      for (const form of FORMS) {
        for (const contestant of NAMES) {
          measurements.push({
            backend,
            channels,
            length,
            form,
            contestant,
            skipped: `D = ${channels} is measured up to L = ${MAX_LENGTH[channels]} (run budget)`,
          });
        }
      }
      continue;
    }
    const inputs = makeInputs(BATCH, length, channels, 7);
    const variant = fastestSoftmaxVariant(backend, length);
    try {
      for (const form of FORMS) {
        const computations = kernelContest(
          form,
          inputs,
          (body) => withoutFusedKernels(backend, body),
          variant,
        );
        const { timings, skipped } = await timeContestants(
          computations,
          NAMES,
          previous.get(form) as Map<Name, number>,
          PLAN,
        );
        const base = { backend, channels, length, form };
        for (const [contestant, reason] of skipped) {
          measurements.push({ ...base, contestant, skipped: reason });
          console.log(
            `  skip ${backend} D=${channels} L=${length} ${form} ${contestant}: ${reason}`,
          );
        }
        for (const [contestant, { medianMs, rounds }] of timings) {
          const peak =
            medianMs < PEAK_LIMIT_MS ? await peakBytes(computations[contestant]) : undefined;
          measurements.push({ ...base, contestant, medianMs, rounds, peakBytes: peak });
          console.log(
            `  ${backend} D=${channels} L=${length} ${form} ${contestant}: ${formatMs(medianMs)} ms (${rounds} rounds)${peak === undefined ? '' : `, peak ${formatMegabytes(peak)} MB`}`,
          );
        }
      }
    } finally {
      disposeInputs(inputs);
      clearSoftmaxMaskCache();
    }
  }
  const note = `${backend}: SA variant at L = 1024: ${describeVariant(fastestSoftmaxVariant(backend, 1024))}`;
  if (!notes.includes(note)) notes.push(note);
}

const ROOFLINE_LENGTHS = [16384, 65536].filter(upToMaxLength);

/**
 * The fused forward op alone on `wasm`, D = 64: the best of 15 calls after a warm-up, ms — the
 * same statistic as the SIMD peak it is compared with (best of 5), so background load on a
 * shared machine lowers neither more than the other. The wasm kernels run synchronously inside
 * the call, so the time to its return is the computation; the tables' times also include
 * reading y back (a 4·L·D-byte copy out of the heap, and its garbage), which every contestant
 * pays but which is no part of the kernel.
 */
async function timeForwardOp(length: number): Promise<number> {
  await useBackend('wasm');
  const inputs = makeInputs(BATCH, length, 64, 7);
  try {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 16; round++) {
      collectGarbage();
      const start = performance.now();
      const y = ea(inputs.q, inputs.k, inputs.v);
      const time = performance.now() - start;
      y.dispose();
      if (round > 0) best = Math.min(best, time);
    }
    return best;
  } finally {
    disposeInputs(inputs);
  }
}

function find(
  ms: Measurement[],
  backend: string,
  channels: number,
  length: number,
  form: Form,
  contestant: Name,
): Measurement | undefined {
  return ms.find(
    (m) =>
      m.backend === backend &&
      m.channels === channels &&
      m.length === length &&
      m.form === form &&
      m.contestant === contestant,
  );
}

function timingTable(ms: Measurement[], backend: string, channels: number): string {
  const entries = ms.filter((m) => m.backend === backend && m.channels === channels);
  const peak = (m?: Measurement) =>
    m?.peakBytes === undefined ? '—' : formatMegabytes(m.peakBytes);
  const rows = contestRows(
    entries,
    NAMES,
    LENGTHS,
    (m) => formatOptionalMs(m?.medianMs),
    // then input or output tensors [B, L, D] in MB, for the peak-memory comparison
    (length, row) => [...row.map(peak), formatMegabytes(BATCH * length * channels * 4)],
  );
  return markdownTable(
    [
      'form',
      'L',
      'fused ms',
      'composite ms',
      'SA ms',
      'composite/fused',
      'SA/fused',
      'fused peak MB',
      'composite peak MB',
      'SA peak MB',
      'one [L,D] MB',
    ],
    rows,
  );
}

async function main(): Promise<void> {
  if (LENGTHS.length === 0) throw new Error(`--max-length ${OPTIONS.maxLength} leaves no length`);
  configureTfjs();
  setSimdEnabled(true);
  await kernelsReady();
  const machine = machineInfo();
  console.log(`# Fused CPU/WASM kernels\n\n${describeMachine(machine)}\n`);

  console.log('Measuring machine limits...');
  const limits: MachineLimits = await measureMachineLimits();
  console.log(
    `  wasm SIMD f32x4 mul+add ${limits.simdGflops.toFixed(1)} GFLOP/s, Math.exp ${limits.expNs.toFixed(2)} ns/call, Float32Array.set ${limits.copyGBs.toFixed(1)} GB/s`,
  );

  const measurements: Measurement[] = [];
  const gates: GateResult[] = [];
  const steps: Array<StepCost & { backend: BenchBackend }> = [];
  const notes: string[] = [];
  const available: BenchBackend[] = [];

  for (const backend of BACKENDS) {
    if (!(await useBackend(backend))) {
      notes.push(`${backend}: unavailable here`);
      continue;
    }
    available.push(backend);
    if (kernelImplementation() !== 'wasm-simd') {
      throw new Error(`fused kernels run '${kernelImplementation()}', not 'wasm-simd'`);
    }
    if (backend === 'wasm') notes.push(`wasm backend: ${await describeWasm()}`);
    for (const channels of CHANNELS) {
      const gate = await gateFused(backend, channels);
      gates.push(gate);
      console.log(
        `gate fused EA-6 ${backend} D=${channels}: y ${gate.forward.toExponential(1)}, dq ${gate.dq.toExponential(1)}, dk ${gate.dk.toExponential(1)}, dv ${gate.dv.toExponential(1)}`,
      );
    }
    checkSoftmaxVariant(fastestSoftmaxVariant(backend, 1024));
    clearSoftmaxMaskCache();
    console.log(`gate SA ${backend}: passed`);
    // A discarded run first: the first position measured would otherwise carry the warm-up.
    if (STEP_POSITIONS.length > 0) await measureStepCost(STEP_POSITIONS[0], STEPS, ORDER, 3);
    for (const position of STEP_POSITIONS) {
      // The previous position's sequence and oracle arrays (tens of MB at 64k) are garbage
      // now; collected here, they do not weigh on the garbage collections of the timed steps.
      collectGarbage();
      const cost = await measureStepCost(position, STEPS, ORDER, 7);
      steps.push({ ...cost, backend });
      console.log(
        `  step ${backend} position ${position}: ${cost.microsecondsPerToken.toFixed(1)} µs/token`,
      );
    }
  }
  for (const channels of CHANNELS) {
    for (const backend of available) {
      await useBackend(backend);
      await benchBackendChannels(backend, channels, measurements, notes);
    }
  }

  // The roofline: the op alone, with the SIMD peak measured again right before it; the higher
  // of the two peaks is used, so background load cannot inflate the percentage.
  const opMs = new Map<number, number>();
  let peakGflops = limits.simdGflops;
  if (available.includes('wasm')) {
    const again = await measureMachineLimits();
    peakGflops = Math.max(peakGflops, again.simdGflops);
    for (const length of ROOFLINE_LENGTHS) {
      if (elapsed() > RUN_BUDGET_MS + 60_000) break;
      opMs.set(length, await timeForwardOp(length));
      console.log(
        `  wasm D=64 L=${length} forward op alone: ${formatMs(opMs.get(length) as number)} ms`,
      );
    }
  }
  const calls = simdCallCounts();
  notes.push(
    `SIMD kernel calls: ${calls.onHeap} in place on the tfjs wasm heap, ${calls.copied} on copies in the module's own memory (cpu), ${calls.recomputed} recomputed in float64`,
  );
  const out: string[] = [];
  out.push(`Machine: ${describeMachine(machine)}.`);
  out.push(...notes.map((n) => `- ${n}`));
  out.push(
    '\n### Correctness gates (fused EA-6, B = 1, L = 193, causal, relative RMS vs float64 oracle)\n',
  );
  out.push(
    markdownTable(
      ['backend', 'D', 'y', 'dq', 'dk', 'dv'],
      gates.map((g) => [
        g.backend,
        g.channels,
        ...[g.forward, g.dq, g.dk, g.dv].map((e) => e.toExponential(1)),
      ]),
    ),
  );
  for (const channels of CHANNELS) {
    for (const backend of available) {
      out.push(
        `\n### ${backend}, D = ${channels} (causal, B = 1; median ms of interleaved rounds)\n`,
      );
      out.push(timingTable(measurements, backend, channels));
    }
  }
  const skips = measurements.filter((m) => m.skipped && !m.skipped.startsWith('D = '));
  if (skips.length > 0) {
    out.push('\nSkipped:');
    for (const m of skips) {
      out.push(
        `- ${m.backend} D=${m.channels} L=${m.length} ${m.form} ${m.contestant}: ${m.skipped}`,
      );
    }
  }

  out.push(
    '\n### Recurrent step (fused EA-6 step kernel, B = 1, D = 64, 500 steps after a prefill)\n',
  );
  out.push(
    markdownTable(
      ['backend', 'position', 'µs/token', 'tokens/s', 'vs 1k', 'rel RMS'],
      steps.map((s) => {
        const base = steps.find((b) => b.backend === s.backend && b.position === STEP_POSITIONS[0]);
        return [
          s.backend,
          s.position,
          s.microsecondsPerToken.toFixed(1),
          s.tokensPerSecond.toFixed(0),
          base
            ? `${((s.microsecondsPerToken / base.microsecondsPerToken - 1) * 100).toFixed(1)}%`
            : '—',
          s.error.toExponential(1),
        ];
      }),
    ),
  );

  out.push('\n### Roofline (same run)\n');
  out.push(
    `wasm SIMD f32x4 mul+add peak (1 thread): ${limits.simdGflops.toFixed(1)} GFLOP/s at the start, ${peakGflops.toFixed(1)} GFLOP/s the higher of that and a second measurement before the op timings (used below); Math.exp: ${limits.expNs.toFixed(2)} ns/call; Float32Array.set of 64 MB: ${limits.copyGBs.toFixed(1)} GB/s copied (${(2 * limits.copyGBs).toFixed(1)} GB/s of read+write traffic).\n`,
  );
  const roofRows: (string | number)[][] = [];
  const roofline: Record<string, number>[] = [];
  for (const length of ROOFLINE_LENGTHS) {
    const m = find(measurements, 'wasm', 64, length, 'forward', 'fused EA-6');
    const op = opMs.get(length);
    if (m?.medianMs === undefined && op === undefined) continue;
    const n = BATCH * length * 64;
    const flops = 54 * n;
    const rate = (ms?: number) => (ms === undefined ? undefined : flops / (ms / 1000) / 1e9);
    const share = (gflops?: number) =>
      gflops === undefined ? '—' : `${((gflops / peakGflops) * 100).toFixed(1)}%`;
    const [tableRate, opRate] = [rate(m?.medianMs), rate(op)];
    const expFloorMs = (n * limits.expNs) / 1e6;
    const bandwidthFloorMs = ((16 * n) / (2 * limits.copyGBs * 1e9)) * 1000;
    roofline.push({
      length,
      ms: m?.medianMs ?? Number.NaN,
      opMs: op ?? Number.NaN,
      gflops: tableRate ?? Number.NaN,
      opGflops: opRate ?? Number.NaN,
      peakGflops,
      expFloorMs,
      bandwidthFloorMs,
    });
    roofRows.push([
      length,
      op === undefined ? '—' : formatMs(op),
      opRate === undefined ? '—' : opRate.toFixed(2),
      share(opRate),
      m?.medianMs === undefined ? '—' : formatMs(m.medianMs),
      share(tableRate),
      formatMs((flops / (peakGflops * 1e9)) * 1000),
      formatMs(expFloorMs),
      formatMs(bandwidthFloorMs),
    ]);
  }
  out.push(
    markdownTable(
      [
        'L (wasm, D = 64, forward)',
        'op ms (best of 15)',
        'op GFLOP/s (54·L·D)',
        'op % of SIMD peak',
        'with readback ms',
        'with readback % of peak',
        'flop floor ms',
        'Math.exp floor ms (L·D calls)',
        'bandwidth floor ms (16·L·D B)',
      ],
      roofRows,
    ),
  );
  out.push(`\nTotal run time ${(elapsed() / 1000).toFixed(0)} s.`);
  const report = out.join('\n');
  console.log(`\n${report}`);
  if (OPTIONS.json) {
    writeFileSync(
      OPTIONS.json,
      JSON.stringify({ machine, limits, gates, measurements, steps, roofline, notes }, null, 2),
    );
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof GateError ? `GATE FAILED: ${error.message}` : error);
  process.exitCode = 1;
});
