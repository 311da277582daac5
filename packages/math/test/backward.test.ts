/**
 * Analytic gradients against central finite differences of the forward pass, for the loss
 * ℓ = Σ dy ⊙ y + Σ dFinalState ⊙ finalState.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AttentionInputs,
  centralDifferenceGradient,
  type Dims,
  eaBackward,
  eaForward,
  maxAbsError,
  type Order,
  type State64,
} from '../src/index.js';
import {
  ALL_ORDERS,
  dimsArb,
  inputsOfDims,
  SERIES_ORDERS,
  stateArb,
  valuesArb,
} from './helpers.js';

interface GradientCase {
  readonly inputs: AttentionInputs;
  readonly order: Order;
  readonly causal: boolean;
  readonly dy: Float64Array;
  readonly initialState?: State64;
  readonly dFinalState?: State64;
}

function loss(c: GradientCase, inputs: AttentionInputs, initialState?: State64): number {
  const withFinal = c.dFinalState !== undefined;
  const { y, finalState } = eaForward(inputs, {
    order: c.order,
    causal: c.causal,
    initialState,
    returnFinalState: withFinal,
  });
  let total = 0;
  for (let i = 0; i < y.length; i++) total += c.dy[i] * y[i];
  if (withFinal) {
    for (let i = 0; i < finalState!.s.length; i++) {
      total += c.dFinalState!.s[i] * finalState!.s[i] + c.dFinalState!.z[i] * finalState!.z[i];
    }
  }
  return total;
}

function expectGradient(name: string, analytic: Float64Array, numeric: Float64Array): void {
  let scale = 1;
  for (const x of numeric) scale = Math.max(scale, Math.abs(x));
  const error = maxAbsError(numeric, analytic);
  expect(error, `${name}: max abs error ${error}, scale ${scale}`).toBeLessThan(1e-6 * scale);
}

/** Checks every gradient `eaBackward` returns against finite differences. */
function checkGradients(c: GradientCase): void {
  const { inputs, initialState } = c;
  const grads = eaBackward(inputs, c.dy, {
    order: c.order,
    causal: c.causal,
    initialState,
    dFinalState: c.dFinalState,
  });
  for (const key of ['q', 'k', 'v'] as const) {
    const numeric = centralDifferenceGradient(
      (x) => loss(c, { ...inputs, [key]: x }, initialState),
      Float64Array.from(inputs[key]),
    );
    const analytic = { q: grads.dq, k: grads.dk, v: grads.dv }[key];
    expectGradient(`d${key}`, analytic, numeric);
  }
  if (initialState === undefined) {
    expect(grads.dInitialState).toBeUndefined();
    return;
  }
  for (const key of ['s', 'z'] as const) {
    const numeric = centralDifferenceGradient(
      (x) => loss(c, inputs, { ...initialState, [key]: x }),
      initialState[key],
    );
    expectGradient(`d${key}0`, grads.dInitialState![key], numeric);
  }
}

interface CaseShape {
  readonly causal: boolean;
  readonly masked?: boolean;
  readonly withState?: boolean;
  readonly withFinalGradient?: boolean;
  readonly dims?: Dims;
}

function gradientCaseArb(order: Order, shape: CaseShape): fc.Arbitrary<GradientCase> {
  const { causal, masked = false, withState = false, withFinalGradient = false } = shape;
  const dims = shape.dims ? fc.constant(shape.dims) : dimsArb({ causal, maxLength: 5 });
  return dims.chain((d) => {
    const terms = typeof order === 'number' ? order + 1 : 0;
    const stateSize = d.batch * terms * d.channels;
    return fc.record({
      inputs: inputsOfDims(d, { causal, masked }),
      order: fc.constant(order),
      causal: fc.constant(causal),
      dy: valuesArb(d.batch * d.queryLength * d.channels, 2),
      initialState:
        withState && typeof order === 'number'
          ? stateArb(order, d.batch, d.channels)
          : fc.constant(undefined),
      dFinalState:
        withFinalGradient && typeof order === 'number'
          ? fc.record({ s: valuesArb(stateSize, 1), z: valuesArb(stateSize, 1) })
          : fc.constant(undefined),
    });
  });
}

const RUNS = { numRuns: 12 };

describe.each(ALL_ORDERS.map((order) => [String(order), order] as const))(
  'order %s: gradients match finite differences',
  (_, order) => {
    for (const causal of [false, true]) {
      const mode = causal ? 'causal' : 'non-causal';
      it(`${mode}, random shapes`, () => {
        fc.assert(fc.property(gradientCaseArb(order, { causal }), checkGradients), RUNS);
      });
      it(`${mode}, masked`, () => {
        fc.assert(
          fc.property(gradientCaseArb(order, { causal, masked: true }), checkGradients),
          RUNS,
        );
      });
      it(`${mode}, fixed shapes: L=1, odd L with D=3 and B=2${causal ? '' : ', Lq != L'}`, () => {
        const shapes: Dims[] = [
          { batch: 1, queryLength: 1, keyLength: 1, channels: 1 },
          { batch: 2, queryLength: 5, keyLength: 5, channels: 3 },
        ];
        if (!causal) shapes.push({ batch: 2, queryLength: 3, keyLength: 6, channels: 2 });
        for (const dims of shapes) {
          fc.assert(
            fc.property(gradientCaseArb(order, { causal, masked: true, dims }), checkGradients),
            { numRuns: 4 },
          );
        }
      });
    }
  },
);

describe.each(SERIES_ORDERS.map((order) => [order] as const))(
  'order %s: state gradients match finite differences',
  (order) => {
    for (const causal of [false, true]) {
      const mode = causal ? 'causal' : 'non-causal';
      it(`${mode}, initial state and final-state gradient`, () => {
        const arb = gradientCaseArb(order, {
          causal,
          masked: true,
          withState: true,
          withFinalGradient: true,
        });
        fc.assert(fc.property(arb, checkGradients), RUNS);
      });
      it(`${mode}, final-state gradient without an initial state`, () => {
        const arb = gradientCaseArb(order, { causal, withFinalGradient: true });
        fc.assert(fc.property(arb, checkGradients), RUNS);
      });
    }
  },
);

describe('backward options', () => {
  const inputs: AttentionInputs = {
    q: [0.1, 0.2],
    k: [0.3, -0.4],
    v: [1, 2],
    dims: { batch: 1, queryLength: 2, keyLength: 2, channels: 1 },
  };

  it('returns dInitialState only when an initial state was given', () => {
    expect(eaBackward(inputs, [1, 1], { order: 2 }).dInitialState).toBeUndefined();
    const state = { s: [0, 0, 0], z: [1, 0, 0] };
    expect(
      eaBackward(inputs, [1, 1], { order: 2, initialState: state }).dInitialState?.s,
    ).toHaveLength(3);
  });

  it('passes the final-state gradient straight to the initial state', () => {
    // With dy = 0 the only path from s0 to the loss is finalState = s0 + Σ keys.
    const state = { s: [0.5, 0.1, 0.2], z: [1, 0.3, 0.1] };
    const dFinalState = { s: [1, 2, 3], z: [4, 5, 6] };
    const { dInitialState, dq } = eaBackward(inputs, [0, 0], {
      order: 2,
      initialState: state,
      dFinalState,
    });
    expect(Array.from(dInitialState!.s)).toEqual([1, 2, 3]);
    expect(Array.from(dInitialState!.z)).toEqual([4, 5, 6]);
    expect(Array.from(dq)).toEqual([0, 0]);
  });
});
