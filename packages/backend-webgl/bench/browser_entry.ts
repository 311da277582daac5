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
  elementwiseAttention,
  type SoftmaxVariant,
  softmaxAttention,
} from '@elementwise/attention';
import { eaBackward, eaForward, relativeRmsError } from '@elementwise/math';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgl';
import * as tf from '@tensorflow/tfjs-core';
import { formatMs, formatRatio, markdownTable } from '../../attention/bench/format.js';
import { checkSoftmaxVariant, GateError, lossGradients } from '../../attention/bench/gates.js';
import { disposeInputs, makeInputs } from '../../attention/bench/inputs.js';
import { measureStepCost } from '../../attention/bench/step_bench.js';
import { type Computation, timeInterleaved, timeOnce } from '../../attention/bench/timing.js';
import { registerWebGLKernels, unregisterWebGLKernels, webglRenderer } from '../src/index.js';

const ORDER = 6;
const CHANNELS = 64;
const ALL_LENGTHS = [256, 1024, 4096, 16384];
/** A contestant whose single call is predicted to take longer than this is not run. */
const CALL_LIMIT_MS = 45_000;
/** Time allowed for the timed rounds of one (L, form). */
const ROUND_BUDGET_MS = 20_000;
/** Calls at least this long are timed in a group of their own, over at most 3 rounds. */
const SLOW_CALL_MS = 5000;
const SLOW_BUDGET_MS = 60_000;
const MAX_ROUNDS = 5;
const STEP_POSITIONS = [1024, 16384];
const STEPS = 100;

type Form = 'forward' | 'forward+backward';
const FORMS: Form[] = ['forward', 'forward+backward'];
type Name = 'fused EA-6' | 'composite EA-6' | 'SA';
const NAMES: Name[] = ['fused EA-6', 'composite EA-6', 'SA'];
/**
 * How a call's time grows when L grows 4×, to predict skips: linear for EA; for SA on
 * SwiftShader more than quadratic at long L (measured 36× for the forward and 59× for
 * forward+backward from L = 4096 to 16384), so 32 rather than 16.
 */
const GROWTH: Record<Name, number> = { 'fused EA-6': 4.5, 'composite EA-6': 4.5, SA: 32 };

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

const ea = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) =>
  elementwiseAttention(q, k, v, { order: ORDER, causal: true }) as tf.Tensor3D;

/** Fused and composite EA-6 (forward and gradients) at L = 193 against the float64 oracle. */
async function gate(): Promise<string[]> {
  const inputs = makeInputs(1, 193, CHANNELS, 31);
  try {
    const [q, k, v, g] = await Promise.all(
      [inputs.q, inputs.k, inputs.v, inputs.cotangent].map((x) => x.data()),
    );
    const dims = { batch: 1, queryLength: 193, keyLength: 193, channels: CHANNELS };
    const forward = eaForward({ q, k, v, dims }, { order: ORDER, causal: true }).y;
    const backward = eaBackward({ q, k, v, dims }, g, { order: ORDER, causal: true });
    const lines: string[] = [];
    for (const [name, wrap] of [
      ['fused', <T>(f: () => T) => f()],
      ['composite', withComposite],
    ] as const) {
      const y = wrap(() => ea(inputs.q, inputs.k, inputs.v));
      const grads = wrap(() => lossGradients(ea, inputs));
      const [yv, dq, dk, dv] = await Promise.all([y, ...grads].map((x) => x.data()));
      tf.dispose([y, ...grads]);
      const errors = {
        y: relativeRmsError(forward, yv),
        dq: relativeRmsError(backward.dq, dq),
        dk: relativeRmsError(backward.dk, dk),
        dv: relativeRmsError(backward.dv, dv),
      };
      for (const [key, error] of Object.entries(errors)) {
        if (!(error <= 1e-5)) {
          throw new GateError(
            `${name} EA-6 ${key} differs from the float64 oracle: relative RMS ${error.toExponential(1)} > 1e-5`,
          );
        }
      }
      lines.push(
        `${name} EA-6 (L = 193, D = 64, causal) vs float64 oracle: ${Object.entries(errors)
          .map(([key, e]) => `${key} ${e.toExponential(1)}`)
          .join(', ')}`,
      );
    }
    return lines;
  } finally {
    disposeInputs(inputs);
  }
}

interface Measurement {
  length: number;
  form: Form;
  name: Name;
  medianMs?: number;
  rounds?: number;
  skipped?: string;
}

async function measureLength(
  length: number,
  previous: Map<string, number>,
  measurements: Measurement[],
): Promise<void> {
  const inputs = makeInputs(1, length, CHANNELS, 7);
  const variant = webglSoftmaxVariant(length);
  try {
    for (const form of FORMS) {
      const call = (attention: typeof ea): Computation =>
        form === 'forward'
          ? () => attention(inputs.q, inputs.k, inputs.v)
          : () => lossGradients(attention, inputs);
      const computations: Record<Name, Computation> = {
        'fused EA-6': call(ea),
        'composite EA-6': () => withComposite(call(ea)),
        SA: call((q, k, v) => softmaxAttention(q, k, v, { causal: true, variant })),
      };
      const live: Name[] = [];
      for (const name of NAMES) {
        const key = `${form}:${name}`;
        const before = previous.get(key);
        let skipped: string | undefined;
        if (before === undefined && length > ALL_LENGTHS[0]) skipped = 'skipped at a shorter L';
        else if (before !== undefined && before * GROWTH[name] > CALL_LIMIT_MS) {
          skipped = `predicted ${((before * GROWTH[name]) / 1000).toFixed(0)} s per call > ${CALL_LIMIT_MS / 1000} s`;
        }
        if (skipped) {
          measurements.push({ length, form, name, skipped });
          console.log(`  skip L=${length} ${form} ${name}: ${skipped}`);
          continue;
        }
        // Warm-up: compiles the shaders for this shape; its time predicts the rounds' cost.
        previous.set(key, await timeOnce(computations[name]));
        live.push(name);
      }
      // Calls under SLOW_CALL_MS are interleaved over at least 3 rounds; slower ones (SA and the
      // composite at long L) in up to 3 rounds of their own, so they do not starve the rest.
      const warm = new Map(live.map((name) => [name, previous.get(`${form}:${name}`) ?? 0]));
      for (const slow of [false, true]) {
        const group = live.filter((name) => (warm.get(name) ?? 0) >= SLOW_CALL_MS === slow);
        if (group.length === 0) continue;
        const round = group.reduce((sum, name) => sum + (warm.get(name) ?? 0), 0);
        const rounds = slow
          ? Math.max(1, Math.min(3, Math.floor(SLOW_BUDGET_MS / round)))
          : Math.max(3, Math.min(MAX_ROUNDS, Math.floor(ROUND_BUDGET_MS / round)));
        const timings = await timeInterleaved(
          group.map((name) => computations[name]),
          rounds,
        );
        group.forEach((name, i) => {
          const medianMs = timings[i].medianMs;
          previous.set(`${form}:${name}`, medianMs);
          measurements.push({ length, form, name, medianMs, rounds });
          console.log(`  L=${length} ${form} ${name}: ${formatMs(medianMs)} ms (${rounds} rounds)`);
        });
      }
    }
  } finally {
    disposeInputs(inputs);
    clearSoftmaxMaskCache();
  }
}

function table(measurements: Measurement[], lengths: number[]): string {
  const rows: (string | number)[][] = [];
  for (const form of FORMS) {
    for (const length of lengths) {
      const [fused, composite, sa] = NAMES.map((name) =>
        measurements.find((m) => m.length === length && m.form === form && m.name === name),
      );
      const show = (m?: Measurement) =>
        m?.medianMs === undefined ? 'skipped' : `${formatMs(m.medianMs)} (${m.rounds})`;
      const ratio = (a?: Measurement, b?: Measurement) =>
        a?.medianMs !== undefined && b?.medianMs !== undefined
          ? formatRatio(a.medianMs / b.medianMs)
          : '—';
      rows.push([
        form,
        length,
        show(fused),
        show(composite),
        show(sa),
        ratio(composite, fused),
        ratio(sa, fused),
      ]);
    }
  }
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
  const previous = new Map<string, number>();
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
    for (const m of skipped) out.push(`- L=${m.length} ${m.form} ${m.name}: ${m.skipped}`);
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
