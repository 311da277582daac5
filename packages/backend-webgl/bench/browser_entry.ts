/**
 * The benchmark body, run in headless Chromium on tfjs's webgl backend (see run.ts): fused EA-6
 * (this package's kernels) vs composite EA-6 (the same op with the kernels unregistered) vs
 * softmax attention (SA), causal, B = 1, D = 64, forward and forward+backward; and the recurrent
 * step's cost per token, fused and composite. Correctness gates run first; a failed gate aborts.
 *
 * On a software renderer (SwiftShader) absolute times say little about a real GPU; the ratios,
 * measured in one run with interleaved rounds, are the result.
 */
import {
  clearSoftmaxMaskCache,
  describeVariant,
  type SoftmaxVariant,
} from '@elementwise/attention';
import {
  type ContestEntry,
  checkEaOracle,
  checkSoftmaxVariant,
  contestRows,
  describeGradientCheck,
  disposeInputs,
  FORMS,
  type Form,
  formatMs,
  formatRatio,
  KERNEL_CONTESTANTS,
  type KernelContestant,
  kernelContest,
  makeInputs,
  markdownTable,
  measureStepCost,
  type RoundPlan,
  timeContestants,
} from '@elementwise/bench';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgl';
import * as tf from '@tensorflow/tfjs-core';
import { registerWebGLKernels, unregisterWebGLKernels, webglRenderer } from '../src/index.js';

const ORDER = 6;
const CHANNELS = 64;
const ALL_LENGTHS = [256, 1024, 4096, 16384];
const STEP_POSITIONS = [1024, 16384];
const STEPS = 100;

type Name = KernelContestant;
const NAMES = KERNEL_CONTESTANTS;
/**
 * Rounds per (L, form). A call's time grows with L 4× per step, linearly for EA; for SA on
 * SwiftShader more than quadratically at long L (measured 36× for the forward and 59× for
 * forward+backward from L = 4096 to 16384), so 32 rather than 16.
 */
const PLAN: RoundPlan<Name> = {
  growth: { 'fused EA-6': 4.5, 'composite EA-6': 4.5, SA: 32 },
  callLimitMs: 45_000,
  roundBudgetMs: 20_000,
  minRounds: 3,
  maxRounds: 5,
  slowCallMs: 5000,
  slowBudgetMs: 60_000,
};

/**
 * SA on webgl: transposes by matMul flags (free in GLSL, unlike on wasm), the custom backward,
 * a cached causal mask, and query blocks of 512 rows so no [L, L] texture exceeds the device's
 * texture size at long L.
 */
function webglSoftmaxVariant(length: number): SoftmaxVariant {
  return {
    transposes: 'flags',
    gradient: 'custom',
    mask: 'cached',
    queryBlocks: Math.max(1, Math.ceil(length / 512)),
    rowBroadcast: 'native',
  };
}

function withComposite<T>(body: () => T): T {
  unregisterWebGLKernels();
  try {
    return body();
  } finally {
    registerWebGLKernels();
  }
}

/** Fused and composite EA-6 (forward and gradients) at L = 193 against the float64 oracle. */
async function gate(): Promise<string[]> {
  const shape = { batch: 1, length: 193, channels: CHANNELS, seed: 31 };
  const lines: string[] = [];
  for (const [name, within] of [
    ['fused', undefined],
    ['composite', withComposite],
  ] as const) {
    const check = await checkEaOracle(`${name} EA-6`, shape, ORDER, within);
    lines.push(
      `${name} EA-6 (L = 193, D = 64, causal) vs float64 oracle: ${describeGradientCheck(check)}`,
    );
  }
  return lines;
}

type Measurement = ContestEntry<Name>;

async function measureLength(
  length: number,
  previous: Map<Form, Map<Name, number>>,
  measurements: Measurement[],
): Promise<void> {
  const inputs = makeInputs(1, length, CHANNELS, 7);
  const variant = webglSoftmaxVariant(length);
  try {
    for (const form of FORMS) {
      const computations = kernelContest(form, inputs, withComposite, variant);
      // The warm-up call compiles the shaders for this shape; its time predicts the rounds' cost.
      const { timings, skipped } = await timeContestants(
        computations,
        NAMES,
        previous.get(form) as Map<Name, number>,
        PLAN,
      );
      for (const [name, reason] of skipped) {
        measurements.push({ length, form, contestant: name, skipped: reason });
        console.log(`  skip L=${length} ${form} ${name}: ${reason}`);
      }
      for (const [name, { medianMs, rounds }] of timings) {
        measurements.push({ length, form, contestant: name, medianMs, rounds });
        console.log(`  L=${length} ${form} ${name}: ${formatMs(medianMs)} ms (${rounds} rounds)`);
      }
    }
  } finally {
    disposeInputs(inputs);
    clearSoftmaxMaskCache();
  }
}

function table(measurements: Measurement[], lengths: number[]): string {
  const rows = contestRows(measurements, NAMES, lengths, (m) =>
    m?.medianMs === undefined ? 'skipped' : `${formatMs(m.medianMs)} (${m.rounds})`,
  );
  return markdownTable(
    [
      'form',
      'L',
      'fused ms (rounds)',
      'composite ms (rounds)',
      'SA ms (rounds)',
      'composite/fused',
      'SA/fused',
    ],
    rows,
  );
}

export async function run(args: Record<string, string>): Promise<void> {
  const started = performance.now();
  const maxLength = args.quick ? 1024 : Number(args.maxLength ?? Number.POSITIVE_INFINITY);
  const lengths = ALL_LENGTHS.filter((length) => length <= maxLength);
  if (!(await tf.setBackend('webgl'))) throw new Error('the tfjs webgl backend did not start');
  await tf.ready();
  registerWebGLKernels();
  const backend = tf.backend() as MathBackendWebGL;
  const renderer = webglRenderer(backend);
  const flags = ['WEBGL_VERSION', 'WEBGL_RENDER_FLOAT32_CAPABLE', 'WEBGL_PACK']
    .map((flag) => `${flag}=${tf.env().get(flag)}`)
    .join(', ');
  const maxTexture = backend.gpgpu.gl.getParameter(backend.gpgpu.gl.MAX_TEXTURE_SIZE);
  console.log(
    `# Fused WebGL kernels\n\nRenderer: ${renderer}\n${navigator.userAgent}\n${flags}, MAX_TEXTURE_SIZE=${maxTexture}`,
  );

  const gates = await gate();
  for (const line of gates) console.log(`gate ${line}`);
  const sa = checkSoftmaxVariant(webglSoftmaxVariant(1024));
  clearSoftmaxMaskCache();
  console.log(
    `gate SA (${describeVariant(webglSoftmaxVariant(1024))}): passed ${JSON.stringify(sa)}`,
  );

  const measurements: Measurement[] = [];
  const previous = new Map<Form, Map<Name, number>>(FORMS.map((form) => [form, new Map()]));
  for (const length of lengths) await measureLength(length, previous, measurements);

  const steps: (string | number)[][] = [];
  const positions = STEP_POSITIONS.filter((p) => p <= maxLength);
  for (const position of positions) {
    const fused = await measureStepCost(position, STEPS, ORDER, 3);
    const composite = await withCompositeAsync(() => measureStepCost(position, STEPS, ORDER, 3));
    console.log(
      `  step position ${position}: fused ${fused.microsecondsPerToken.toFixed(0)} µs/token, composite ${composite.microsecondsPerToken.toFixed(0)} µs/token`,
    );
    steps.push([
      position,
      fused.microsecondsPerToken.toFixed(0),
      composite.microsecondsPerToken.toFixed(0),
      formatRatio(composite.microsecondsPerToken / fused.microsecondsPerToken),
      fused.error.toExponential(1),
    ]);
  }

  const out: string[] = [];
  out.push(`Renderer: \`${renderer}\` (${flags}, MAX_TEXTURE_SIZE=${maxTexture}).`);
  out.push(`Browser: \`${navigator.userAgent}\`.\n`);
  out.push('Correctness gates (relative RMS vs the float64 oracle; the run aborts above 1e-5):\n');
  for (const line of gates) out.push(`- ${line}`);
  out.push(
    `- SA (${describeVariant(webglSoftmaxVariant(1024))}) checked by checkSoftmaxVariant at L = 11 and 300: passed`,
  );
  out.push(
    `\n### EA-6 fused vs composite vs SA (causal, B = 1, D = ${CHANNELS}; median ms of interleaved rounds, rounds in parentheses; calls over 5 s are timed in a group of their own)\n`,
  );
  out.push(table(measurements, lengths));
  const skipped = measurements.filter((m) => m.skipped);
  if (skipped.length > 0) {
    out.push('\nSkipped:');
    for (const m of skipped) out.push(`- L=${m.length} ${m.form} ${m.contestant}: ${m.skipped}`);
  }
  if (steps.length > 0) {
    out.push(
      `\n### Recurrent step (EA-6, B = 1, D = ${CHANNELS}, ${STEPS} steps after a prefill, each output read with dataSync)\n`,
    );
    out.push(
      markdownTable(
        ['position', 'fused µs/token', 'composite µs/token', 'composite/fused', 'fused rel RMS'],
        steps,
      ),
    );
  }
  out.push(`\nTotal run time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  console.log(`\n${out.join('\n')}`);
}

async function withCompositeAsync<T>(body: () => Promise<T>): Promise<T> {
  unregisterWebGLKernels();
  try {
    return await body();
  } finally {
    registerWebGLKernels();
  }
}
