/**
 * Recurrent EA-series (paper eq. 7-16): one token at a time with a fixed-size state, O(tD)
 * per token whatever the position. A step is causal attention over a single key with the state
 * as initial state, so it is implemented by the parallel form and agrees with it by design:
 *
 *     s += f(k_i) v_i,   z += f(k_i),   y_i = Σ_n a_n q_i^n s_n / Σ_n a_n q_i^n z_n
 *
 * The state is updated before `y_i` is read, so token i attends to itself.
 */
import { eaBackward } from './backward.js';
import { eaForward } from './forward.js';
import { assertSeriesOrder } from './order.js';
import type { AttentionInputs, State, State64 } from './types.js';
import { checkArray, checkPositiveInteger, checkState } from './validate.js';

export interface StepOptions {
  /** Series order `t` (even, >= 0); the state is `[B, t+1, D]`. */
  readonly order: number;
  readonly batch: number;
  readonly channels: number;
}

export interface StepResult {
  /** `[B, D]` */
  readonly y: Float64Array;
  /** The state after this token, each `[B, t+1, D]`. */
  readonly state: State64;
}

function stepInputs(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  state: State,
  options: StepOptions,
): AttentionInputs {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object {order, batch, channels}');
  }
  const { order, batch, channels } = options;
  assertSeriesOrder(order);
  checkPositiveInteger('batch', batch);
  checkPositiveInteger('channels', channels);
  const formula = `B*D = ${batch}*${channels}`;
  checkArray('q', q, batch * channels, formula);
  checkArray('k', k, batch * channels, formula);
  checkArray('v', v, batch * channels, formula);
  checkState('state', state, order, batch, channels);
  return { q, k, v, dims: { batch, queryLength: 1, keyLength: 1, channels } };
}

/** Adds one token `(k, v)` (each `[B, D]`) to `state` and reads it with query `q`. */
export function eaStep(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  state: State,
  options: StepOptions,
): StepResult {
  const inputs = stepInputs(q, k, v, state, options);
  const { y, finalState } = eaForward(inputs, {
    order: options.order,
    causal: true,
    initialState: state,
    returnFinalState: true,
  });
  return { y, state: finalState as State64 };
}

export interface StepBackwardOptions extends StepOptions {
  /** Upstream gradient of the state `eaStep` returned, each `[B, t+1, D]`. */
  readonly dState?: State;
}

export interface StepBackwardResult {
  /** `[B, D]` */
  readonly dq: Float64Array;
  /** `[B, D]` */
  readonly dk: Float64Array;
  /** `[B, D]` */
  readonly dv: Float64Array;
  /** Gradient of the state passed in, each `[B, t+1, D]`. */
  readonly dState: State64;
}

/**
 * Gradients of one `eaStep` given `dy` (`[B, D]`) and optionally the gradient of the state it
 * returned. Chaining these backwards through a step loop is backpropagation through time.
 */
export function eaStepBackward(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  state: State,
  dy: ArrayLike<number>,
  options: StepBackwardOptions,
): StepBackwardResult {
  const inputs = stepInputs(q, k, v, state, options);
  const { dq, dk, dv, dInitialState } = eaBackward(inputs, dy, {
    order: options.order,
    causal: true,
    initialState: state,
    dFinalState: options.dState,
  });
  return { dq, dk, dv, dState: dInitialState as State64 };
}
