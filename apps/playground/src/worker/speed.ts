import { elementwiseAttention, softmaxAttention } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import type { SpeedRequest, SpeedResult } from '../shared/protocol.js';
import { COST_EXPONENT, type Measurement, skipReason } from '../shared/speed_plan.js';
import { describeError, isOutOfMemory } from './describe_error.js';

/** Channels of the compared attentions: EA over 64 channels, softmax over 4 heads of 16. */
const CHANNELS = 64;
const HEADS = 4;

type Attention = SpeedResult['attention'];
type Pass = SpeedResult['pass'];

/** The causal attention under test, as y = f(q, k, v) on [1, L, 64] inputs. */
function attend(attention: Attention, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D): tf.Tensor {
  if (attention === 'ea6') return elementwiseAttention(q, k, v, { order: 6, causal: true });
  const length = q.shape[1];
  // [1, L, H·d] → [H, L, d]: the heads become softmaxAttention's leading axis.
  const heads = (x: tf.Tensor3D) =>
    tf.transpose(tf.reshape(x, [length, HEADS, CHANNELS / HEADS]), [1, 0, 2]) as tf.Tensor3D;
  return softmaxAttention(heads(q), heads(k), heads(v), { causal: true });
}

/** Runs one pass and waits until the device has finished it (reading the results back). */
async function runOnce(attention: Attention, pass: Pass, inputs: tf.Tensor3D[]): Promise<void> {
  const [q, k, v] = inputs;
  const outputs =
    pass === 'forward'
      ? [tf.tidy(() => attend(attention, q, k, v))]
      : tf.tidy(() =>
          tf.grads((a, b, c) =>
            tf.sum(attend(attention, a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D)),
          )([q, k, v]),
        );
  try {
    await Promise.all(outputs.map((t) => t.data()));
  } finally {
    tf.dispose(outputs);
  }
}

/** Median milliseconds of a pass at one length, after one warm-up run. */
async function measure(attention: Attention, pass: Pass, length: number): Promise<number> {
  const inputs = [0, 1, 2].map((seed) =>
    tf.randomNormal([1, length, CHANNELS], 0, 0.5, 'float32', seed),
  ) as tf.Tensor3D[];
  try {
    const warmStart = performance.now();
    await runOnce(attention, pass, inputs);
    const warmMs = performance.now() - warmStart;
    // Slow runs are timed once: a second run would double the wait for little accuracy.
    const repeats = warmMs > 1000 ? 1 : 3;
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const start = performance.now();
      await runOnce(attention, pass, inputs);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  } finally {
    tf.dispose(inputs);
  }
}

/**
 * Measures EA-6 (the backend's fused kernel) against softmax attention, forward and
 * forward+backward, at each length, reporting every cell as it completes. A length predicted
 * too slow, or longer than one that ran out of memory, is skipped with the reason.
 */
export async function measureSpeed(
  request: SpeedRequest,
  emit: (result: SpeedResult) => void,
): Promise<void> {
  const series: Array<[Attention, Pass]> = [
    ['ea6', 'forward'],
    ['softmax', 'forward'],
    ['ea6', 'forward+backward'],
    ['softmax', 'forward+backward'],
  ];
  const measured = new Map(series.map((s) => [s.join(' '), [] as Measurement[]]));
  const failedAt = new Map<string, number>();
  for (const length of request.lengths) {
    for (const [attention, pass] of series) {
      const key = `${attention} ${pass}`;
      const cell = { attention, pass, length };
      const failedLength = failedAt.get(key);
      if (failedLength !== undefined) {
        emit({ ...cell, skipped: `skipped: L = ${failedLength} already ran out of memory` });
        continue;
      }
      const reason = skipReason(
        measured.get(key)!,
        length,
        COST_EXPONENT[attention],
        request.budgetSeconds,
      );
      if (reason) {
        emit({ ...cell, skipped: reason });
        continue;
      }
      try {
        const milliseconds = await measure(attention, pass, length);
        measured.get(key)!.push({ length, milliseconds });
        emit({ ...cell, milliseconds });
      } catch (error) {
        if (isOutOfMemory(error)) {
          failedAt.set(key, length);
          emit({ ...cell, failed: `out of memory at L = ${length}: ${describeError(error)}` });
        } else {
          emit({ ...cell, failed: describeError(error) });
        }
      }
    }
  }
}
