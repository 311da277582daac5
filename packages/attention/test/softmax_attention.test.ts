import { centralDifferenceGradient, type SoftmaxDims, softmaxAttention64 } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  clearSoftmaxMaskCache,
  describeVariant,
  fastestSoftmaxVariant,
  type SoftmaxVariant,
  softmaxAttention,
} from '../src/index.js';
import {
  expectClose,
  randomNormal,
  randomValues,
  refusedCall,
  refusedCallsLeakNothing,
  useBackend,
} from './helpers.js';
import { BACKENDS } from './node_backends.js';

interface Case {
  name: string;
  dims: SoftmaxDims;
  causal: boolean;
  mask?: number[][];
}

const CASES: Case[] = [
  {
    name: 'causal self-attention, Lq = L = 7',
    dims: { count: 2, queries: 7, keys: 7, depth: 3, valueDepth: 3 },
    causal: true,
  },
  {
    name: 'causal after 3 cached keys (Lq = 4 < L = 7), padding mask, dv ≠ d',
    dims: { count: 2, queries: 4, keys: 7, depth: 3, valueDepth: 2 },
    causal: true,
    mask: [
      [0, 0, 1, 1, 1, 1, 1],
      [0, 0, 0, 0, 0, 1, 1],
    ],
  },
  {
    name: 'non-causal, Lq ≠ L, a sequence with no visible key',
    dims: { count: 2, queries: 3, keys: 5, depth: 4, valueDepth: 2 },
    causal: false,
    mask: [
      [1, 0, 1, 1, 0],
      [0, 0, 0, 0, 0],
    ],
  },
];

function variants(): SoftmaxVariant[] {
  const all: SoftmaxVariant[] = [];
  for (const transposes of ['flags', 'explicit'] as const)
    for (const gradient of ['custom', 'autodiff'] as const)
      for (const queryBlocks of [1, 3])
        for (const rowBroadcast of ['native', 'matmul'] as const)
          all.push({
            transposes,
            gradient,
            queryBlocks,
            rowBroadcast,
            mask: queryBlocks === 3 && rowBroadcast === 'native' ? 'per-call' : 'cached',
          });
  return all;
}

describe.each(BACKENDS)('softmaxAttention on %s', (backend) => {
  describe.each(CASES)('$name', (c) => {
    const { count, queries, keys, depth, valueDepth } = c.dims;
    const shapes = {
      q: [count, queries, depth],
      k: [count, keys, depth],
      v: [count, keys, valueDepth],
      g: [count, queries, valueDepth],
    };
    const data = Object.fromEntries(
      Object.entries(shapes).map(([name, shape], i) => [
        name,
        randomValues(shape[0] * shape[1] * shape[2], i + 1, 1),
      ]),
    ) as Record<keyof typeof shapes, Float32Array>;
    const mask = c.mask?.flat();
    const [q64, k64, v64, g64] = [data.q, data.k, data.v, data.g].map((t) => Float64Array.from(t));
    const y64 = softmaxAttention64(q64, k64, v64, c.dims, c.causal, mask);
    const nq = q64.length;
    const nk = k64.length;
    const loss = (point: Float64Array) =>
      softmaxAttention64(
        point.subarray(0, nq),
        point.subarray(nq, nq + nk),
        point.subarray(nq + nk),
        c.dims,
        c.causal,
        mask,
      ).reduce((sum, value, i) => sum + value * g64[i], 0);
    const point = new Float64Array([...q64, ...k64, ...v64]);
    const gradient = centralDifferenceGradient(loss, point);
    const [dq64, dk64, dv64] = [
      gradient.slice(0, nq),
      gradient.slice(nq, nq + nk),
      gradient.slice(nq + nk),
    ];

    it.each(variants().map((variant) => ({ variant, label: describeVariant(variant) })))(
      '$label: output and gradients equal float64',
      async ({ variant }) => {
        await useBackend(backend);
        const [q, k, v, g] = (['q', 'k', 'v', 'g'] as const).map((name) =>
          tf.tensor3d(data[name], shapes[name] as [number, number, number]),
        );
        const maskTensor = c.mask ? tf.tensor2d(c.mask) : undefined;
        const options = { causal: c.causal, variant, ...(maskTensor ? { mask: maskTensor } : {}) };
        const before = tf.memory().numTensors;
        const y = softmaxAttention(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, options);
        expectClose(y, y64, 1e-5, 'y');
        const [dq, dk, dv] = tf.grads((a, b, d) =>
          tf.sum(
            tf.mul(
              softmaxAttention(a as tf.Tensor3D, b as tf.Tensor3D, d as tf.Tensor3D, options),
              g,
            ),
          ),
        )([q, k, v]);
        expectClose(dq, dq64, 1e-5, 'dq');
        expectClose(dk, dk64, 1e-5, 'dk');
        expectClose(dv, dv64, 1e-5, 'dv');
        tf.dispose([y, dq, dk, dv]);
        // Cached masks are kept as values, not tensors: nothing outlives the call.
        expect(tf.memory().numTensors).toBe(before);
        clearSoftmaxMaskCache();
        tf.dispose([q, k, v, g, ...(maskTensor ? [maskTensor] : [])]);
      },
    );
  });

  it('the fastest variant for the backend is the default', async () => {
    await useBackend(backend);
    const variant = fastestSoftmaxVariant(backend, 1000);
    expect(variant.gradient).toBe('custom');
    expect(variant.queryBlocks).toBeGreaterThan(1);
    expect(variant.transposes).toBe(backend === 'cpu' ? 'flags' : 'explicit');
    const q = randomNormal([1, 9, 4], 5) as tf.Tensor3D;
    const y = softmaxAttention(q, q, q, { causal: true });
    const ref = softmaxAttention64(
      q.dataSync(),
      q.dataSync(),
      q.dataSync(),
      { count: 1, queries: 9, keys: 9, depth: 4, valueDepth: 4 },
      true,
    );
    expectClose(y, ref, 1e-5, 'y');
    tf.dispose([q, y]);
    clearSoftmaxMaskCache();
  });
});

describe('softmaxAttention input checks', () => {
  refusedCallsLeakNothing('cpu');
  const x = (...shape: number[]) => tf.zeros(shape);

  it.each(
    [
      [
        () => softmaxAttention(x(2, 5), x(2, 5, 4), x(2, 5, 4)),
        'q must have shape [N, Lq, d], got [2, 5]',
      ],
      [
        () => softmaxAttention(x(2, 5, 4), x(3, 5, 4), x(3, 5, 4)),
        'k must have shape [2, L, 4] to match q [2, 5, 4], got [3, 5, 4]',
      ],
      [
        () => softmaxAttention(x(2, 5, 4), x(2, 6, 4), x(2, 5, 4)),
        'v must have shape [2, 6, dv] to match k [2, 6, 4], got [2, 5, 4]',
      ],
      [
        () => softmaxAttention(x(2, 5, 4), x(2, 0, 4), x(2, 0, 4)),
        'sequences must be non-empty, got q [2, 5, 4], k [2, 0, 4] and v [2, 0, 4]',
      ],
      [
        () => softmaxAttention(x(2, 5, 4), x(2, 3, 4), x(2, 3, 4), { causal: true }),
        'causal attention needs Lq <= L, got Lq = 5 and L = 3',
      ],
      [
        () => softmaxAttention(tf.zeros([2, 5, 4], 'int32'), x(2, 5, 4), x(2, 5, 4)),
        'q must have dtype float32, got int32',
      ],
      [
        () => softmaxAttention(x(2, 5, 4), x(2, 5, 4), x(2, 5, 4), { mask: x(2, 4) }),
        'mask must have shape [N, L] = [2, 5], got [2, 4]',
      ],
      [
        () => softmaxAttention(x(1, 2, 2), x(1, 2, 2), x(1, 2, 2), { casual: true } as never),
        "unknown option 'casual'; expected one of causal, mask, variant",
      ],
      [
        () => softmaxAttention(x(1, 2, 2), x(1, 2, 2), x(1, 2, 2), true as never),
        'options must be an object with any of causal, mask, variant, got true',
      ],
      [
        () => softmaxAttention(x(1, 2, 2), x(1, 2, 2), x(1, 2, 2), { causal: 'yes' as never }),
        "options.causal must be a boolean, got 'yes'",
      ],
      [
        () =>
          softmaxAttention(x(1, 2, 2), x(1, 2, 2), x(1, 2, 2), {
            variant: { ...fastestSoftmaxVariant('cpu', 2), transposes: 'none' as never },
          }),
        "options.variant.transposes must be 'flags' or 'explicit', got 'none'",
      ],
      [
        () =>
          softmaxAttention(x(1, 2, 2), x(1, 2, 2), x(1, 2, 2), {
            variant: { ...fastestSoftmaxVariant('cpu', 2), queryBlocks: 0 },
          }),
        'options.variant.queryBlocks must be an integer >= 1, got 0',
      ],
    ].map(([build, message]) => ({ build: build as () => unknown, message: message as string })),
  )('$message', ({ build, message }) => {
    expect(refusedCall(build)).toThrow(`softmaxAttention: ${message}`);
  });

  it('takes nested arrays, and masks of any numeric or boolean dtype', () => {
    const q = [[[0.1, 0.2]], [[0.3, -0.4]]];
    const k = [
      [
        [0.5, 0.1],
        [-0.2, 0.3],
      ],
      [
        [0.1, 0.1],
        [0.4, -0.3],
      ],
    ];
    const mask = [
      [true, false],
      [false, false],
    ];
    const maskTensor = tf.tensor2d(mask, undefined, 'bool');
    const y = softmaxAttention(q, k, k, { mask: maskTensor });
    const fromArrays = softmaxAttention(q, k, k, { mask });
    // The first sequence sees only its first key; the second sees none and outputs 0.
    expectClose(y, [0.5, 0.1, 0, 0], 1e-6, 'y');
    expectClose(fromArrays, y.dataSync(), 1e-7, 'y from arrays');
    tf.dispose([maskTensor, y, fromArrays]);
  });
});
