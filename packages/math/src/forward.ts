import { readChannelSequence } from './channel.js';
import { exactChannelForward } from './exact.js';
import { readColumn, writeColumn } from './layout.js';
import { seriesChannelForward } from './series.js';
import type { AttentionInputs, AttentionOptions, State64 } from './types.js';
import { checkAttention } from './validate.js';

export interface EaForwardOptions extends AttentionOptions {
  /** Series orders only: also return the state after the last key. */
  readonly returnFinalState?: boolean;
}

export interface EaForwardResult {
  /** `[B, Lq, D]` */
  readonly y: Float64Array;
  /**
   * `initialState + Σ` over every unmasked key, each `[B, t+1, D]`; present when
   * `returnFinalState` was set. Passing it as the next call's `initialState` continues the
   * sequence (causal chunks, or prefill followed by `eaStep`).
   */
  readonly finalState?: State64;
}

/**
 * Element-wise attention in float64: exact (`order: 'exact'`) or EA-series of the given even
 * order, causal or not, with an optional key mask and (series only) an initial state.
 */
export function eaForward(inputs: AttentionInputs, options: EaForwardOptions): EaForwardResult {
  const { order, causal } = checkAttention(inputs, options);
  const returnFinalState = options.returnFinalState ?? false;
  if (returnFinalState && order === 'exact') {
    throw new RangeError(
      "returnFinalState needs a series order (exact EA has no finite state), got order 'exact'",
    );
  }
  const { batch, queryLength, channels } = inputs.dims;
  const y = new Float64Array(batch * queryLength * channels);

  if (order === 'exact') {
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < channels; c++) {
        const yColumn = exactChannelForward(readChannelSequence(inputs, b, c), causal);
        writeColumn(y, yColumn, queryLength, channels, b, c);
      }
    }
    return { y };
  }

  const terms = order + 1;
  const initial = options.initialState;
  const final = {
    s: new Float64Array(batch * terms * channels),
    z: new Float64Array(batch * terms * channels),
  };
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      const s0 = initial ? readColumn(initial.s, terms, channels, b, c) : new Float64Array(terms);
      const z0 = initial ? readColumn(initial.z, terms, channels, b, c) : new Float64Array(terms);
      const sequence = readChannelSequence(inputs, b, c);
      const out = seriesChannelForward(sequence, order, causal, s0, z0);
      writeColumn(y, out.y, queryLength, channels, b, c);
      writeColumn(final.s, out.sFinal, terms, channels, b, c);
      writeColumn(final.z, out.zFinal, terms, channels, b, c);
    }
  }
  return returnFinalState ? { y, finalState: final } : { y };
}
