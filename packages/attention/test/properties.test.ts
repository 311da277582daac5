import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { elementwiseAttention, elementwiseAttentionStep, zeroState } from '../src/index.js';
import { expectClose, randomNormal, useBackend } from './helpers.js';
import { BACKENDS } from './node_backends.js';

const RUNS = { numRuns: 15 };
const seriesOrder = fc.constantFrom(0, 2, 4, 6, 8);
const anyOrder = fc.constantFrom<number | 'exact'>(0, 2, 4, 6, 8, 'exact');
const shape = fc.record({
  batch: fc.integer({ min: 1, max: 2 }),
  length: fc.integer({ min: 2, max: 12 }),
  channels: fc.integer({ min: 1, max: 5 }),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

function inputs(batch: number, length: number, channels: number, seed: number) {
  return [0, 1, 2].map((i) => randomNormal([batch, length, channels], seed + i, i === 2 ? 1 : 0.6));
}

/** Runs `body` and checks it left no tensor behind. */
function leakFree(body: () => void) {
  const start = tf.memory().numTensors;
  body();
  expect(tf.memory().numTensors).toBe(start);
}

describe.each(BACKENDS)('elementwiseAttention properties on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('causal: the output at i does not change when inputs after i change', () => {
    fc.assert(
      fc.property(shape, anyOrder, fc.nat(), ({ batch, length, channels, seed }, order, at) => {
        leakFree(() => {
          const i = at % (length - 1);
          const [q, k, v] = inputs(batch, length, channels, seed);
          const [q2, k2, v2] = tf.tidy(() => {
            const later = tf.reshape(tf.greater(tf.range(0, length), i), [1, length, 1]);
            return [q, k, v].map((x, j) =>
              tf.where(later, randomNormal(x.shape, seed + 10 + j, 2), x),
            );
          });
          const [y, y2] = [
            tf.tidy(() => elementwiseAttention(q, k, v, { order, causal: true })),
            tf.tidy(() => elementwiseAttention(q2, k2, v2, { order, causal: true })),
          ];
          const head = (x: tf.Tensor) => tf.slice(x, [0, 0, 0], [batch, i + 1, channels]);
          const [a, b] = [head(y), head(y2)];
          expectClose(b, a.dataSync(), 1e-6, 'prefix');
          tf.dispose([q, k, v, q2, k2, v2, y, y2, a, b]);
        });
      }),
      RUNS,
    );
  });

  it('recurrent steps equal the causal parallel form', () => {
    fc.assert(
      fc.property(shape, seriesOrder, ({ batch, length, channels, seed }, order) => {
        leakFree(() => {
          const [q, k, v] = inputs(batch, length, channels, seed);
          const parallel = elementwiseAttention(q, k, v, { order, causal: true });
          let state = zeroState(order, batch, channels);
          const ys: tf.Tensor[] = [];
          for (let i = 0; i < length; i++) {
            const at = (x: tf.Tensor) =>
              tf.tidy(() => tf.squeeze(tf.slice(x, [0, i, 0], [batch, 1, channels]), [1]));
            const [qi, ki, vi] = [at(q), at(k), at(v)];
            const next = elementwiseAttentionStep(qi, ki, vi, state, { order });
            tf.dispose([qi, ki, vi, state.s, state.z]);
            state = next.state;
            ys.push(next.y);
          }
          const recurrent = tf.stack(ys, 1);
          expectClose(recurrent, parallel.dataSync(), 1e-5, 'recurrent');
          tf.dispose([q, k, v, parallel, recurrent, state.s, state.z, ...ys]);
        });
      }),
      RUNS,
    );
  });

  it('chunked (state carried between chunks) equals unchunked, final state included', () => {
    fc.assert(
      fc.property(shape, seriesOrder, fc.nat(), ({ batch, length, channels, seed }, order, cut) => {
        leakFree(() => {
          const split = 1 + (cut % (length - 1));
          const [q, k, v] = inputs(batch, length, channels, seed);
          const whole = elementwiseAttention(q, k, v, {
            order,
            causal: true,
            returnFinalState: true,
          });
          const part = (x: tf.Tensor, from: number, to: number) =>
            tf.slice(x, [0, from, 0], [batch, to - from, channels]);
          const chunked = tf.tidy(() => {
            const first = elementwiseAttention(
              part(q, 0, split),
              part(k, 0, split),
              part(v, 0, split),
              {
                order,
                causal: true,
                returnFinalState: true,
              },
            );
            const second = elementwiseAttention(
              part(q, split, length),
              part(k, split, length),
              part(v, split, length),
              {
                order,
                causal: true,
                initialState: first.finalState,
                returnFinalState: true,
              },
            );
            return {
              y: tf.concat([first.y, second.y], 1),
              s: second.finalState.s,
              z: second.finalState.z,
            };
          });
          expectClose(chunked.y, whole.y.dataSync(), 1e-5, 'y');
          expectClose(chunked.s, whole.finalState.s.dataSync(), 1e-6, 's');
          expectClose(chunked.z, whole.finalState.z.dataSync(), 1e-6, 'z');
          tf.dispose([
            q,
            k,
            v,
            whole.y,
            whole.finalState.s,
            whole.finalState.z,
            chunked.y,
            chunked.s,
            chunked.z,
          ]);
        });
      }),
      RUNS,
    );
  });

  it('non-causal: permuting keys and values together leaves the output unchanged', () => {
    fc.assert(
      fc.property(shape, anyOrder, ({ batch, length, channels, seed }, order) => {
        leakFree(() => {
          const [q, k, v] = inputs(batch, length, channels, seed);
          const permutation = Array.from({ length }, (_, i) => i).sort(
            (a, b) => ((a * 7919 + seed) % length) - ((b * 7919 + seed) % length),
          );
          const [kp, vp] = [k, v].map((x) => tf.gather(x, permutation, 1));
          const y = elementwiseAttention(q, k, v, { order });
          const yp = elementwiseAttention(q, kp, vp, { order });
          expectClose(yp, y.dataSync(), 1e-5, 'permuted');
          tf.dispose([q, k, v, kp, vp, y, yp]);
        });
      }),
      RUNS,
    );
  });

  it('masking trailing keys equals truncating them', () => {
    fc.assert(
      fc.property(
        shape,
        anyOrder,
        fc.boolean(),
        fc.nat(),
        ({ batch, length, channels, seed }, order, causal, cut) => {
          leakFree(() => {
            const kept = 1 + (cut % (length - 1));
            const [q, k, v] = inputs(batch, length, channels, seed);
            const mask = tf.tidy(() =>
              tf.tile(tf.reshape(tf.less(tf.range(0, length), kept), [1, length]), [batch, 1]),
            );
            const masked = tf.tidy(() => {
              const y = elementwiseAttention(q, k, v, { order, causal, mask });
              return causal ? tf.slice(y, [0, 0, 0], [batch, kept, channels]) : y;
            });
            const truncated = tf.tidy(() => {
              const head = (x: tf.Tensor) => tf.slice(x, [0, 0, 0], [batch, kept, channels]);
              return elementwiseAttention(causal ? head(q) : q, head(k), head(v), {
                order,
                causal,
              });
            });
            expectClose(masked, truncated.dataSync(), 1e-5, 'masked vs truncated');
            tf.dispose([q, k, v, mask, masked, truncated]);
          });
        },
      ),
      RUNS,
    );
  });
});
