import {
  type AttentionState,
  disposeState,
  elementwiseAttention,
  elementwiseAttentionStep,
} from '@elementwise/attention';
import { eaForward, randomNormal, relativeRmsError } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { FORWARD_TOLERANCE, GateError } from './gates.js';
import { median } from './timing.js';

export interface StepCost {
  position: number;
  steps: number;
  order: number;
  /** Median over the timed runs of (run time / steps), in µs. */
  microsecondsPerToken: number;
  tokensPerSecond: number;
  /** Step outputs vs the float64 oracle's causal outputs at the same positions. */
  error: number;
}

/**
 * Per-token cost of recurrent EA at a given position: prefill `position` tokens with the
 * parallel causal form (returnFinalState), then time `steps` calls of elementwiseAttentionStep
 * that carry the state, reading each token's output as a generation loop would. The state is
 * O(t·D) whatever the position, so the cost should not depend on it.
 */
export async function measureStepCost(
  position: number,
  steps: number,
  order = 6,
  runs = 5,
): Promise<StepCost> {
  const channels = 64;
  const total = position + steps;
  const sequence = {
    q: randomNormal(total * channels, 101, 0.5),
    k: randomNormal(total * channels, 102, 0.5),
    v: randomNormal(total * channels, 103, 1),
  };
  const prefix = (values: Float32Array) =>
    tf.tensor3d(values.subarray(0, position * channels), [1, position, channels]);
  const [q, k, v] = [sequence.q, sequence.k, sequence.v].map(prefix);
  const prefill = elementwiseAttention(q, k, v, { order, causal: true, returnFinalState: true });
  tf.dispose([q, k, v, prefill.y]);
  const token = (values: Float32Array, i: number) =>
    tf.tensor2d(values.subarray((position + i) * channels, (position + i + 1) * channels), [
      1,
      channels,
    ]);
  const tokens = Array.from({ length: steps }, (_, i) =>
    [sequence.q, sequence.k, sequence.v].map((x) => token(x, i)),
  );

  /** Runs every step from the prefilled state; returns the outputs, leaves the prefill state intact. */
  const generate = (): Float32Array => {
    const outputs = new Float32Array(steps * channels);
    let state: AttentionState = prefill.finalState;
    tokens.forEach(([qi, ki, vi], i) => {
      const next = elementwiseAttentionStep(qi, ki, vi, state, { order });
      outputs.set(next.y.dataSync(), i * channels);
      next.y.dispose();
      if (state !== prefill.finalState) disposeState(state);
      state = next.state;
    });
    disposeState(state);
    return outputs;
  };

  try {
    const outputs = generate();
    const reference = eaForward(
      { ...sequence, dims: { batch: 1, queryLength: total, keyLength: total, channels } },
      { order, causal: true },
    ).y.subarray(position * channels);
    const error = relativeRmsError(reference, outputs);
    if (!(error <= FORWARD_TOLERANCE)) {
      throw new GateError(
        `recurrent EA-${order} steps after a ${position}-token prefill on ${tf.getBackend()} differ from the float64 causal oracle: relative RMS ${error.toExponential(1)} > ${FORWARD_TOLERANCE}`,
      );
    }
    // One more untimed run: the first position measured would otherwise pay for JIT warm-up.
    generate();
    const perToken: number[] = [];
    for (let run = 0; run < runs; run++) {
      const start = performance.now();
      generate();
      perToken.push(((performance.now() - start) * 1000) / steps);
    }
    const microsecondsPerToken = median(perToken);
    return {
      position,
      steps,
      order,
      microsecondsPerToken,
      tokensPerSecond: 1e6 / microsecondsPerToken,
      error,
    };
  } finally {
    tf.dispose(tokens.flat());
    disposeState(prefill.finalState);
  }
}
