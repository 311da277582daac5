import { elementwiseAttention, elementwiseAttentionStep } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe } from 'vitest';
import { read } from '../compare.js';
import type { Kit } from '../kit.js';
import { randomNormal } from '../random.js';
import { tokenAt } from './step.js';

const seriesOrder = fc.constantFrom(0, 2, 4, 6, 8);
const anyOrder = fc.constantFrom<number | 'exact'>(0, 2, 4, 6, 8, 'exact');
const shapes = fc.record({
  batch: fc.integer({ min: 1, max: 2 }),
  length: fc.integer({ min: 2, max: 12 }),
  channels: fc.integer({ min: 1, max: 5 }),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});
type Shape = { batch: number; length: number; channels: number; seed: number };

/** q, k, v as `[B, L, D]` float32 arrays. */
function sequences({ batch, length, channels, seed }: Shape): Float32Array[] {
  return [0, 1, 2].map((i) => randomNormal(batch * length * channels, seed + i, i === 2 ? 1 : 0.6));
}

/** Rows `[from, to)` of every batch element of a `[B, L, D]` array. */
function rows(x: Float32Array, s: Shape, from: number, to: number): Float32Array {
  const out = new Float32Array(s.batch * (to - from) * s.channels);
  for (let b = 0; b < s.batch; b++) {
    const start = (b * s.length + from) * s.channels;
    out.set(x.subarray(start, start + (to - from) * s.channels), b * (to - from) * s.channels);
  }
  return out;
}

/** Concatenates `[B, La, D]` and `[B, Lb, D]` along the sequence. */
function joinRows(a: Float32Array, b: Float32Array, batch: number): Float32Array {
  const out = new Float32Array(a.length + b.length);
  const [sa, sb] = [a.length / batch, b.length / batch];
  for (let i = 0; i < batch; i++) {
    out.set(a.subarray(i * sa, (i + 1) * sa), i * (sa + sb));
    out.set(b.subarray(i * sb, (i + 1) * sb), i * (sa + sb) + sa);
  }
  return out;
}

interface RunOptions {
  order: number | 'exact';
  causal?: boolean;
  mask?: Float32Array;
  initialState?: { s: Float32Array; z: Float32Array };
}

/**
 * Runs the op on arrays and reads the results back: y, and for series orders the final state.
 */
async function run(
  [q, k, v]: Float32Array[],
  batch: number,
  channels: number,
  options: RunOptions,
): Promise<{ y: Float32Array; s?: Float32Array; z?: Float32Array }> {
  const [queries, keys] = [q.length / batch / channels, k.length / batch / channels];
  const series = options.order !== 'exact';
  const moments = series ? (options.order as number) + 1 : 0;
  const created = [
    tf.tensor3d(q, [batch, queries, channels]),
    tf.tensor3d(k, [batch, keys, channels]),
    tf.tensor3d(v, [batch, keys, channels]),
  ];
  const mask = options.mask ? tf.tensor2d(options.mask, [batch, keys]) : undefined;
  const state = options.initialState
    ? {
        s: tf.tensor3d(options.initialState.s, [batch, moments, channels]),
        z: tf.tensor3d(options.initialState.z, [batch, moments, channels]),
      }
    : undefined;
  const [qt, kt, vt] = created;
  const common = { order: options.order, causal: options.causal ?? false, mask };
  const outputs = series
    ? (() => {
        const out = elementwiseAttention(qt, kt, vt, {
          ...common,
          initialState: state,
          returnFinalState: true,
        });
        return [out.y, out.finalState.s, out.finalState.z];
      })()
    : [elementwiseAttention(qt, kt, vt, common)];
  const values = await Promise.all(outputs.map(read));
  tf.dispose([...created, ...outputs, mask, state?.s, state?.z].filter((x) => x != null));
  return { y: values[0], s: values[1], z: values[2] };
}

/** Properties every implementation has, on random shapes and orders (fast-check). */
export function propertiesSuite(kit: Kit): void {
  // The failing assertion's message goes into the report, not only into `cause`.
  const runs = { numRuns: kit.options.propertyRuns, includeErrorInReport: true };
  const close = (got: ArrayLike<number>, reference: ArrayLike<number>, what: string) =>
    kit.compare.expectClose(got, reference, 'properties', what);

  describe('properties', () => {
    kit.test('causal: the output at i does not change when inputs after i change', async () => {
      await fc.assert(
        fc.asyncProperty(shapes, anyOrder, fc.nat(), async (s, order, at) => {
          const i = at % (s.length - 1);
          const original = sequences(s);
          // Replace every position after i with different values.
          const changed = original.map((x, j) => {
            const other = randomNormal(x.length, s.seed + 10 + j, 2);
            const out = Float32Array.from(x);
            for (let b = 0; b < s.batch; b++) {
              const from = (b * s.length + i + 1) * s.channels;
              const to = (b + 1) * s.length * s.channels;
              out.set(other.subarray(from, to), from);
            }
            return out;
          });
          const a = await run(original, s.batch, s.channels, { order, causal: true });
          const b = await run(changed, s.batch, s.channels, { order, causal: true });
          await close(rows(b.y, s, 0, i + 1), rows(a.y, s, 0, i + 1), `outputs 0..${i}`);
        }),
        runs,
      );
    });

    kit.test('recurrent steps equal the causal parallel form', async () => {
      await fc.assert(
        fc.asyncProperty(shapes, seriesOrder, async (s, order) => {
          const [q, k, v] = sequences(s);
          const parallel = await run([q, k, v], s.batch, s.channels, { order, causal: true });
          const moments = order + 1;
          let state = {
            s: tf.zeros([s.batch, moments, s.channels]),
            z: tf.zeros([s.batch, moments, s.channels]),
          };
          const ys: tf.Tensor[] = [];
          for (let i = 0; i < s.length; i++) {
            const [qi, ki, vi] = [q, k, v].map((x) =>
              tf.tensor2d(tokenAt(x, s.batch, s.length, s.channels, i), [s.batch, s.channels]),
            );
            const next = elementwiseAttentionStep(qi, ki, vi, state, { order });
            tf.dispose([qi, ki, vi, state.s, state.z]);
            state = next.state;
            ys.push(next.y);
          }
          const recurrent = tf.stack(ys, 1);
          const values = await read(recurrent);
          tf.dispose([recurrent, state.s, state.z, ...ys]);
          await close(values, parallel.y, 'recurrent');
        }),
        runs,
      );
    });

    kit.test(
      'chunked (state carried between chunks) equals unchunked, final state included',
      async () => {
        await fc.assert(
          fc.asyncProperty(shapes, seriesOrder, fc.nat(), async (s, order, cut) => {
            const split = 1 + (cut % (s.length - 1));
            const inputs = sequences(s);
            const whole = await run(inputs, s.batch, s.channels, { order, causal: true });
            const first = await run(
              inputs.map((x) => rows(x, s, 0, split)),
              s.batch,
              s.channels,
              { order, causal: true },
            );
            const second = await run(
              inputs.map((x) => rows(x, s, split, s.length)),
              s.batch,
              s.channels,
              { order, causal: true, initialState: { s: first.s!, z: first.z! } },
            );
            await close(joinRows(first.y, second.y, s.batch), whole.y, 'y');
            await close(second.s!, whole.s!, 'final s');
            await close(second.z!, whole.z!, 'final z');
          }),
          runs,
        );
      },
    );

    kit.test(
      'non-causal: permuting keys and values together leaves the output unchanged',
      async () => {
        await fc.assert(
          fc.asyncProperty(shapes, anyOrder, async (s, order) => {
            const [q, k, v] = sequences(s);
            const permutation = Array.from({ length: s.length }, (_, i) => i).sort(
              (a, b) => ((a * 7919 + s.seed) % s.length) - ((b * 7919 + s.seed) % s.length),
            );
            const permute = (x: Float32Array) => {
              const out = new Float32Array(x.length);
              for (let b = 0; b < s.batch; b++) {
                permutation.forEach((from, to) => {
                  const src = (b * s.length + from) * s.channels;
                  out.set(x.subarray(src, src + s.channels), (b * s.length + to) * s.channels);
                });
              }
              return out;
            };
            const y = await run([q, k, v], s.batch, s.channels, { order });
            const yp = await run([q, permute(k), permute(v)], s.batch, s.channels, { order });
            await close(yp.y, y.y, 'permuted');
          }),
          runs,
        );
      },
    );

    kit.test('masking trailing keys equals truncating them', async () => {
      await fc.assert(
        fc.asyncProperty(
          shapes,
          anyOrder,
          fc.boolean(),
          fc.nat(),
          async (s, order, causal, cut) => {
            const kept = 1 + (cut % (s.length - 1));
            const [q, k, v] = sequences(s);
            const mask = new Float32Array(s.batch * s.length).map((_, j) =>
              j % s.length < kept ? 1 : 0,
            );
            const masked = await run([q, k, v], s.batch, s.channels, { order, causal, mask });
            const truncated = await run(
              [causal ? rows(q, s, 0, kept) : q, rows(k, s, 0, kept), rows(v, s, 0, kept)],
              s.batch,
              s.channels,
              { order, causal },
            );
            const got = causal ? rows(masked.y, s, 0, kept) : masked.y;
            await close(got, truncated.y, 'masked vs truncated');
          },
        ),
        runs,
      );
    });
  });
}
