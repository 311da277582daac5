/**
 * Times the formulations (variants) of `softmaxAttention` (packages/attention/src/ops/softmax_attention.ts), causal,
 * B = 1, D = 64, on tfjs cpu and wasm, after checking each against float64, to find the fastest
 * one — the baseline run.ts compares EA with. Results: BENCHMARKS.md, "Softmax baseline".
 *
 *   cd tooling/bench && node --expose-gc --import tsx bench/softmax_variants.ts [--backend cpu|wasm] [--lengths 1024,4096] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  clearSoftmaxMaskCache,
  fastestSoftmaxVariant,
  type SoftmaxVariant,
  softmaxAttention,
} from '@elementwise/attention';
import type * as tf from '@tensorflow/tfjs-core';
import {
  type Computation,
  checkSoftmaxVariant,
  disposeInputs,
  formatMs,
  formatRatio,
  GateError,
  lossGradients,
  makeInputs,
  markdownTable,
  timeInterleaved,
  timeOnce,
} from '../src/index.js';
import { BENCH_BACKENDS, configureTfjs, isBenchBackend, useBackend } from '../src/node.js';

type NamedVariant = [name: string, variant: SoftmaxVariant];

/** Dense [L, L] formulations, ordered so that each row changes one knob of a row above it. */
const DENSE: NamedVariant[] = [
  [
    'textbook: flags, autodiff, mask per call',
    {
      queryBlocks: 1,
      transposes: 'flags',
      gradient: 'autodiff',
      mask: 'per-call',
      rowBroadcast: 'native',
    },
  ],
  [
    'explicit transposes, autodiff, mask per call',
    {
      queryBlocks: 1,
      transposes: 'explicit',
      gradient: 'autodiff',
      mask: 'per-call',
      rowBroadcast: 'native',
    },
  ],
  [
    'explicit transposes, autodiff, cached mask',
    {
      queryBlocks: 1,
      transposes: 'explicit',
      gradient: 'autodiff',
      mask: 'cached',
      rowBroadcast: 'native',
    },
  ],
  [
    'flags, custom gradient, cached mask',
    {
      queryBlocks: 1,
      transposes: 'flags',
      gradient: 'custom',
      mask: 'cached',
      rowBroadcast: 'native',
    },
  ],
  [
    'explicit, custom gradient, mask per call',
    {
      queryBlocks: 1,
      transposes: 'explicit',
      gradient: 'custom',
      mask: 'per-call',
      rowBroadcast: 'native',
    },
  ],
  [
    'explicit, custom gradient, cached mask',
    {
      queryBlocks: 1,
      transposes: 'explicit',
      gradient: 'custom',
      mask: 'cached',
      rowBroadcast: 'native',
    },
  ],
  [
    'flags, custom, cached, matmul row broadcast',
    {
      queryBlocks: 1,
      transposes: 'flags',
      gradient: 'custom',
      mask: 'cached',
      rowBroadcast: 'matmul',
    },
  ],
  [
    'explicit, custom, cached, matmul row broadcast',
    {
      queryBlocks: 1,
      transposes: 'explicit',
      gradient: 'custom',
      mask: 'cached',
      rowBroadcast: 'matmul',
    },
  ],
];

const BLOCK_ROWS = [1024, 512, 256, 128, 64];

/** Row-blocked forms with the backend's best dense settings, at several block heights. */
function blocked(backend: string, length: number): NamedVariant[] {
  const best = fastestSoftmaxVariant(backend, length);
  return BLOCK_ROWS.filter((rows) => rows < length).map((rows) => {
    const queryBlocks = Math.ceil(length / rows);
    return [
      `query blocks of ${rows} rows (${queryBlocks}), best settings above`,
      { ...best, queryBlocks },
    ];
  });
}

const DEFAULT_LENGTHS: Record<string, number[]> = { cpu: [1024, 2048], wasm: [1024, 4096] };
const ROUNDS = 3;

interface VariantTiming {
  backend: string;
  length: number;
  name: string;
  variant: SoftmaxVariant;
  forwardMs: number;
  forwardBackwardMs: number;
}

async function timeVariants(computations: Computation[]): Promise<number[]> {
  for (const computation of computations) {
    await timeOnce(computation);
    clearSoftmaxMaskCache();
  }
  return (await timeInterleaved(computations, ROUNDS)).map((t) => t.medianMs);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { backend: { type: 'string' }, lengths: { type: 'string' }, json: { type: 'string' } },
  });
  const backends = values.backend ? [values.backend] : [...BENCH_BACKENDS];
  configureTfjs();
  const results: VariantTiming[] = [];
  for (const backend of backends) {
    if (!isBenchBackend(backend) || !(await useBackend(backend))) {
      console.log(`\nbackend ${backend}: not available here, skipped`);
      continue;
    }
    const lengths = values.lengths
      ? values.lengths.split(',').map(Number)
      : DEFAULT_LENGTHS[backend];
    for (const length of lengths) {
      const variants = [...DENSE, ...blocked(backend, length)];
      for (const [, variant] of variants) checkSoftmaxVariant(variant);
      clearSoftmaxMaskCache();
      const inputs = makeInputs(1, length, 64);
      const attention =
        (variant: SoftmaxVariant) => (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) =>
          softmaxAttention(q, k, v, { causal: true, variant });
      const forward = await timeVariants(
        variants.map(
          ([, variant]) =>
            () =>
              attention(variant)(inputs.q, inputs.k, inputs.v),
        ),
      );
      const both = await timeVariants(
        variants.map(
          ([, variant]) =>
            () =>
              lossGradients(attention(variant), inputs),
        ),
      );
      clearSoftmaxMaskCache();
      disposeInputs(inputs);
      const rows = variants.map(([name, variant], i) => {
        results.push({
          backend,
          length,
          name,
          variant,
          forwardMs: forward[i],
          forwardBackwardMs: both[i],
        });
        return [
          name,
          formatMs(forward[i]),
          formatMs(both[i]),
          formatRatio(forward[0] / forward[i]),
          formatRatio(both[0] / both[i]),
        ];
      });
      console.log(
        `\n${backend}, causal, B = 1, L = ${length}, D = 64: ${variants.length} variants, all equal to float64 (outputs and gradients); median of ${ROUNDS} interleaved rounds after a warm-up\n`,
      );
      console.log(
        markdownTable(
          ['variant', 'fwd ms', 'fwd+bwd ms', 'fwd vs textbook', 'fwd+bwd vs textbook'],
          rows,
        ),
      );
    }
  }
  if (values.json) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((error: unknown) => {
  if (error instanceof GateError) {
    console.error(`\nABORTED, correctness gate failed: ${error.message}`);
  } else {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  }
  process.exit(1);
});
