import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AttentionInputs,
  eaBackward,
  eaForward,
  eaStep,
  eaStepBackward,
  type State64,
  zeroState,
} from '../src/index.js';
import {
  dimsArb,
  expectClose,
  inputsOfDims,
  PROPERTY_RUNS,
  SERIES_ORDERS,
  sliceRows,
  stateArb,
} from './helpers.js';

const seriesOrderArb = fc.constantFrom(...SERIES_ORDERS);

/** Rows `from..to-1` of every batch element, as a new `[B, to-from, D]` array. */
function rows(data: ArrayLike<number>, L: number, D: number, B: number, from: number, to: number) {
  return Float64Array.from(
    Array.from({ length: B }, (_, b) => sliceRows(data, L, D, b, from, to)).flat(),
  );
}

/** Positions `from..to-1` of causal inputs (queries and keys alike). */
function chunk(inputs: AttentionInputs, from: number, to: number): AttentionInputs {
  const { batch: B, keyLength: L, channels: D } = inputs.dims;
  return {
    q: rows(inputs.q, L, D, B, from, to),
    k: rows(inputs.k, L, D, B, from, to),
    v: rows(inputs.v, L, D, B, from, to),
    mask: inputs.mask ? rows(inputs.mask, L, 1, B, from, to) : undefined,
    dims: { ...inputs.dims, queryLength: to - from, keyLength: to - from },
  };
}

/** Both parts of a state are within `bound` of the reference state's. */
function expectStateClose(got: State64, reference: State64, bound: number) {
  expectClose(got.s, reference.s, bound);
  expectClose(got.z, reference.z, bound);
}

/**
 * The step run over every position of unmasked causal `inputs` from `initialState`: each
 * position's y, and the states before each position and after the last (L + 1 of them).
 */
function stepThrough(
  inputs: AttentionInputs,
  order: number,
  initialState: State64,
): { ys: Float64Array[]; states: State64[] } {
  const { batch: B, keyLength: L, channels: D } = inputs.dims;
  const ys: Float64Array[] = [];
  const states: State64[] = [
    { s: Float64Array.from(initialState.s), z: Float64Array.from(initialState.z) },
  ];
  for (let i = 0; i < L; i++) {
    const token = chunk(inputs, i, i + 1);
    const step = eaStep(token.q, token.k, token.v, states[i], { order, batch: B, channels: D });
    ys.push(step.y);
    states.push(step.state);
  }
  return { ys, states };
}

const causalCase = dimsArb({ causal: true, maxLength: 7 }).chain((dims) =>
  fc.tuple(
    fc.constant(dims),
    inputsOfDims(dims, { causal: true, masked: true }),
    seriesOrderArb.chain((order) =>
      fc.tuple(fc.constant(order), stateArb(order, dims.batch, dims.channels)),
    ),
  ),
);

describe('recurrent step', () => {
  it('a step loop equals the causal parallel form, outputs and final state', () => {
    fc.assert(
      fc.property(causalCase, ([dims, inputs, [order, initialState]]) => {
        const { batch: B, keyLength: L, channels: D } = dims;
        // The step takes no mask, so compare against an unmasked parallel run.
        const unmasked = { ...inputs, mask: undefined };
        const parallel = eaForward(unmasked, {
          order,
          causal: true,
          initialState,
          returnFinalState: true,
        });
        const { ys, states } = stepThrough(unmasked, order, initialState);
        ys.forEach((y, i) => {
          expectClose(y, rows(parallel.y, L, D, B, i, i + 1), 1e-13);
        });
        expectStateClose(states[L], parallel.finalState!, 1e-13);
      }),
      PROPERTY_RUNS,
    );
  });

  it('chained step backward equals the causal backward pass (backpropagation through time)', () => {
    const caseArb = causalCase.chain(([dims, inputs, orderAndState]) =>
      fc.tuple(
        fc.constant(dims),
        fc.constant({ ...inputs, mask: undefined }),
        fc.constant(orderAndState),
        inputsOfDims(dims).map((random) => random.q),
      ),
    );
    fc.assert(
      fc.property(caseArb, ([dims, inputs, [order, initialState], dy]) => {
        const { batch: B, keyLength: L, channels: D } = dims;
        const dFinalState = zeroState(order, B, D);
        dFinalState.s.forEach((_, index) => {
          dFinalState.s[index] = Math.sin(index + 1);
          dFinalState.z[index] = Math.cos(index + 1);
        });
        const whole = eaBackward(inputs, dy, { order, causal: true, initialState, dFinalState });

        const { states } = stepThrough(inputs, order, initialState);
        let dState: State64 = dFinalState;
        for (let i = L - 1; i >= 0; i--) {
          const token = chunk(inputs, i, i + 1);
          const grads = eaStepBackward(
            token.q,
            token.k,
            token.v,
            states[i],
            rows(dy, L, D, B, i, i + 1),
            {
              order,
              batch: B,
              channels: D,
              dState,
            },
          );
          expectClose(grads.dq, rows(whole.dq, L, D, B, i, i + 1), 1e-12);
          expectClose(grads.dk, rows(whole.dk, L, D, B, i, i + 1), 1e-12);
          expectClose(grads.dv, rows(whole.dv, L, D, B, i, i + 1), 1e-12);
          dState = grads.dState;
        }
        expectStateClose(dState, whole.dInitialState!, 1e-12);
      }),
      PROPERTY_RUNS,
    );
  });
});

describe('chunked causal processing', () => {
  it('two chunks passing the state equal one unchunked run, including the final state', () => {
    const caseArb = causalCase
      .filter(([dims]) => dims.keyLength >= 2)
      .chain((c) => fc.tuple(fc.constant(c), fc.integer({ min: 1, max: c[0].keyLength - 1 })));
    fc.assert(
      fc.property(caseArb, fc.boolean(), ([[dims, inputs, [order, s0]], split], withState) => {
        const { batch: B, keyLength: L, channels: D } = dims;
        const initialState = withState ? s0 : undefined;
        const whole = eaForward(inputs, {
          order,
          causal: true,
          initialState,
          returnFinalState: true,
        });
        const first = eaForward(chunk(inputs, 0, split), {
          order,
          causal: true,
          initialState,
          returnFinalState: true,
        });
        const second = eaForward(chunk(inputs, split, L), {
          order,
          causal: true,
          initialState: first.finalState,
          returnFinalState: true,
        });
        expectClose(first.y, rows(whole.y, L, D, B, 0, split), 1e-13);
        expectClose(second.y, rows(whole.y, L, D, B, split, L), 1e-13);
        expectStateClose(second.finalState!, whole.finalState!, 1e-13);
      }),
      PROPERTY_RUNS,
    );
  });
});

describe('initial state, non-causal', () => {
  it('keys summarised in a state count exactly like keys present in the sequence', () => {
    const caseArb = dimsArb({ maxLength: 5 }).chain((dims) =>
      fc.tuple(
        fc.constant(dims),
        fc.integer({ min: 1, max: 4 }),
        inputsOfDims(dims, { masked: true }),
        inputsOfDims({ ...dims, keyLength: 4 }, { masked: true }),
        seriesOrderArb,
      ),
    );
    fc.assert(
      fc.property(caseArb, ([dims, earlier, inputs, before, order]) => {
        const { batch: B, keyLength: L, channels: D } = dims;
        const first = chunk({ ...before, dims: { ...before.dims, queryLength: 4 } }, 0, earlier);
        const state = eaForward(
          { ...first, q: new Float64Array(B * D), dims: { ...first.dims, queryLength: 1 } },
          { order, returnFinalState: true },
        ).finalState!;
        // Keys of `first` followed by the keys of `inputs`, per batch element.
        const join = (a: ArrayLike<number>, b: ArrayLike<number>, width: number) =>
          Float64Array.from(
            Array.from({ length: B }, (_, bb) => [
              ...sliceRows(a, earlier, width, bb, 0, earlier),
              ...sliceRows(b, L, width, bb, 0, L),
            ]).flat(),
          );
        const joined: AttentionInputs = {
          q: inputs.q,
          k: join(first.k, inputs.k, D),
          v: join(first.v, inputs.v, D),
          mask: join(first.mask!, inputs.mask!, 1),
          dims: { ...dims, keyLength: earlier + L },
        };
        const withState = eaForward(inputs, { order, initialState: state, returnFinalState: true });
        const together = eaForward(joined, { order, returnFinalState: true });
        expectClose(withState.y, together.y, 1e-13);
        expectStateClose(withState.finalState!, together.finalState!, 1e-13);
      }),
      PROPERTY_RUNS,
    );
  });

  it('a zero state is the same as no state, and the final state does not depend on causal', () => {
    fc.assert(
      fc.property(
        dimsArb({ causal: true }).chain((dims) => inputsOfDims(dims, { masked: true })),
        seriesOrderArb,
        (inputs, order) => {
          const { batch: B, channels: D } = inputs.dims;
          const none = eaForward(inputs, { order, returnFinalState: true });
          const zero = eaForward(inputs, {
            order,
            initialState: zeroState(order, B, D),
            returnFinalState: true,
          });
          const causal = eaForward(inputs, { order, causal: true, returnFinalState: true });
          expect(Array.from(zero.y)).toEqual(Array.from(none.y));
          expect(Array.from(zero.finalState!.s)).toEqual(Array.from(none.finalState!.s));
          expect(Array.from(causal.finalState!.z)).toEqual(Array.from(none.finalState!.z));
          expect(Array.from(causal.finalState!.s)).toEqual(Array.from(none.finalState!.s));
        },
      ),
      PROPERTY_RUNS,
    );
  });

  it('the final state is only returned when asked for', () => {
    const inputs: AttentionInputs = {
      q: [0.1],
      k: [0.2],
      v: [0.3],
      dims: { batch: 1, queryLength: 1, keyLength: 1, channels: 1 },
    };
    expect(eaForward(inputs, { order: 2 }).finalState).toBeUndefined();
    expect(eaForward(inputs, { order: 2, returnFinalState: true }).finalState?.s).toHaveLength(3);
  });
});

describe('zeroState', () => {
  it('has shape [B, t+1, D] and is all zeros', () => {
    const state = zeroState(4, 2, 3);
    expect(state.s).toHaveLength(2 * 5 * 3);
    expect(state.z).toHaveLength(2 * 5 * 3);
    expect(Array.from(state.s).every((x) => x === 0)).toBe(true);
  });

  it('rejects bad orders and sizes', () => {
    expect(() => zeroState(3, 1, 1)).toThrow('order must be an even integer >= 0, got 3');
    expect(() => zeroState(2, 0, 1)).toThrow('batch must be an integer >= 1, got 0');
    expect(() => zeroState(2, 1, 1.5)).toThrow('channels must be an integer >= 1, got 1.5');
  });
});
