import { readChannelSequence } from './channel.js';
import { exactChannelBackward } from './exact.js';
import { readColumn, writeColumn } from './layout.js';
import { seriesChannelBackward } from './series_backward.js';
import type { AttentionInputs, AttentionOptions, State, State64 } from './types.js';
import { checkArray, checkAttention, checkState } from './validate.js';

export interface EaBackwardOptions extends AttentionOptions {
  /**
   * Series orders only: upstream gradient of the final state `(s, z)`, each `[B, t+1, D]`,
   * for when the forward pass returned it and the loss depends on it (chunked training).
   */
  readonly dFinalState?: State;
}

export interface EaBackwardResult {
  /** `[B, Lq, D]` */
  readonly dq: Float64Array;
  /** `[B, L, D]` */
  readonly dk: Float64Array;
  /** `[B, L, D]` */
  readonly dv: Float64Array;
  /** Gradient of the initial state, each `[B, t+1, D]`; present when one was given. */
  readonly dInitialState?: State64;
}

/**
 * Gradients of `ℓ = Σ dy ⊙ y (+ Σ dFinalState ⊙ finalState)` with respect to `q`, `k`, `v`
 * (and the initial state), for the same inputs and options as `eaForward`. Masks are treated
 * as constants. Queries with a zero denominator pass no gradient.
 */
export function eaBackward(
  inputs: AttentionInputs,
  dy: ArrayLike<number>,
  options: EaBackwardOptions,
): EaBackwardResult {
  const { order, causal } = checkAttention(inputs, options);
  const { batch, queryLength, keyLength, channels } = inputs.dims;
  checkArray(
    'dy',
    dy,
    batch * queryLength * channels,
    `B*Lq*D = ${batch}*${queryLength}*${channels}`,
  );
  const dq = new Float64Array(batch * queryLength * channels);
  const dk = new Float64Array(batch * keyLength * channels);
  const dv = new Float64Array(batch * keyLength * channels);

  if (order === 'exact') {
    if (options.dFinalState !== undefined) {
      throw new RangeError(
        "dFinalState needs a series order (exact EA has no finite state), got order 'exact'",
      );
    }
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < channels; c++) {
        const g = readColumn(dy, queryLength, channels, b, c);
        const grads = exactChannelBackward(readChannelSequence(inputs, b, c), g, causal);
        writeColumn(dq, grads.dq, queryLength, channels, b, c);
        writeColumn(dk, grads.dk, keyLength, channels, b, c);
        writeColumn(dv, grads.dv, keyLength, channels, b, c);
      }
    }
    return { dq, dk, dv };
  }

  const terms = order + 1;
  const initial = options.initialState;
  const dFinal = options.dFinalState;
  if (dFinal !== undefined) checkState('dFinalState', dFinal, order, batch, channels);
  const dInitial = {
    s: new Float64Array(batch * terms * channels),
    z: new Float64Array(batch * terms * channels),
  };
  const column = (data: ArrayLike<number> | undefined, b: number, c: number) =>
    data ? readColumn(data, terms, channels, b, c) : new Float64Array(terms);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const grads = seriesChannelBackward(
        readChannelSequence(inputs, b, c),
        readColumn(dy, queryLength, channels, b, c),
        order,
        causal,
        column(initial?.s, b, c),
        column(initial?.z, b, c),
        column(dFinal?.s, b, c),
        column(dFinal?.z, b, c),
      );
      writeColumn(dq, grads.dq, queryLength, channels, b, c);
      writeColumn(dk, grads.dk, keyLength, channels, b, c);
      writeColumn(dv, grads.dv, keyLength, channels, b, c);
      writeColumn(dInitial.s, grads.ds0, terms, channels, b, c);
      writeColumn(dInitial.z, grads.dz0, terms, channels, b, c);
    }
  }
  return initial !== undefined ? { dq, dk, dv, dInitialState: dInitial } : { dq, dk, dv };
}
