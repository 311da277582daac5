// Writes the float64 oracle's answers (@elementwise/math) for the PyTorch op's tests as JSON:
// node scripts/op_fixtures.mjs OUT.json
// Every case holds its inputs, the upstream gradients, and what eaForward / eaBackward /
// eaStep / eaStepBackward / groupedForward return for them; grouped gradients are central
// differences of the oracle (it has no grouped backward).
import { writeFileSync } from 'node:fs';
import {
  centralDifferenceGradient,
  eaBackward,
  eaForward,
  eaStep,
  eaStepBackward,
  groupedForward,
  groupedStateShape,
  groupedStep,
} from '@elementwise/math';

const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/op_fixtures.mjs OUT.json');

// mulberry32: the same inputs on every run.
let seed = 20250109;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function normal() {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
const randn = (size, scale = 1) => Array.from({ length: size }, () => normal() * scale);
const list = (x) => Array.from(x);

function seriesCase(
  name,
  {
    batch,
    queryLength,
    keyLength,
    channels,
    order,
    causal,
    masked,
    state,
    scale = 0.8,
    keyScale = scale,
    keyOffset = 0,
  },
) {
  const dims = { batch, queryLength, keyLength, channels };
  const q = randn(batch * queryLength * channels, scale);
  const k = randn(batch * keyLength * channels, keyScale).map((x) => x + keyOffset);
  const v = randn(batch * keyLength * channels);
  let mask;
  if (masked) {
    mask = Array.from({ length: batch * keyLength }, () => (random() < 0.3 ? 0 : 1));
    // The last batch element sees no key at all: the zero-denominator rule.
    for (let j = 0; j < keyLength; j++) mask[(batch - 1) * keyLength + j] = 0;
  }
  const inputs = { q, k, v, dims, ...(mask ? { mask } : {}) };
  const fixture = { name, kind: 'series', dims, order, causal, q, k, v, mask: mask ?? null };
  let initialState;
  if (state && order !== 'exact') {
    // A realistic state: what a random earlier chunk of 4 keys leaves.
    const prefix = { batch, queryLength: 4, keyLength: 4, channels };
    const earlier = eaForward(
      {
        q: randn(batch * 4 * channels),
        k: randn(batch * 4 * channels, scale),
        v: randn(batch * 4 * channels),
        dims: prefix,
      },
      { order, causal: true, returnFinalState: true },
    );
    initialState = earlier.finalState;
    fixture.initialState = { s: list(initialState.s), z: list(initialState.z) };
  }
  const options = { order, causal, ...(initialState ? { initialState } : {}) };
  const forward = eaForward(inputs, { ...options, returnFinalState: order !== 'exact' });
  const dy = randn(batch * queryLength * channels);
  fixture.dy = dy;
  fixture.y = list(forward.y);
  let dFinalState;
  if (order !== 'exact') {
    fixture.finalState = { s: list(forward.finalState.s), z: list(forward.finalState.z) };
    const size = batch * (order + 1) * channels;
    dFinalState = { s: randn(size), z: randn(size) };
    fixture.dFinalState = dFinalState;
  }
  const grads = eaBackward(inputs, dy, { ...options, ...(dFinalState ? { dFinalState } : {}) });
  fixture.dq = list(grads.dq);
  fixture.dk = list(grads.dk);
  fixture.dv = list(grads.dv);
  if (grads.dInitialState) {
    fixture.dInitialState = { s: list(grads.dInitialState.s), z: list(grads.dInitialState.z) };
  }
  return fixture;
}

function stepCase(name, { batch, channels, order }) {
  const size = batch * channels;
  const terms = batch * (order + 1) * channels;
  const prefix = { batch, queryLength: 3, keyLength: 3, channels };
  const earlier = eaForward(
    {
      q: randn(batch * 3 * channels),
      k: randn(batch * 3 * channels),
      v: randn(batch * 3 * channels),
      dims: prefix,
    },
    { order, causal: true, returnFinalState: true },
  );
  const state = earlier.finalState;
  const [q, k, v, dy] = [randn(size), randn(size), randn(size), randn(size)];
  const dState = { s: randn(terms), z: randn(terms) };
  const options = { order, batch, channels };
  const step = eaStep(q, k, v, state, options);
  const back = eaStepBackward(q, k, v, state, dy, { ...options, dState });
  return {
    name,
    kind: 'step',
    batch,
    channels,
    order,
    q,
    k,
    v,
    dy,
    state: { s: list(state.s), z: list(state.z) },
    dState,
    y: list(step.y),
    next: { s: list(step.state.s), z: list(step.state.z) },
    dq: list(back.dq),
    dk: list(back.dk),
    dv: list(back.dv),
    dStateIn: { s: list(back.dState.s), z: list(back.dState.z) },
  };
}

function groupedCase(
  name,
  { batch, queryLength, keyLength, channels, order, groupSize, causal, masked, state },
) {
  const dims = { batch, queryLength, keyLength, channels };
  const q = randn(batch * queryLength * channels, 0.8);
  const k = randn(batch * keyLength * channels, 0.8);
  const v = randn(batch * keyLength * channels);
  let mask;
  if (masked) {
    mask = Array.from({ length: batch * keyLength }, () => (random() < 0.3 ? 0 : 1));
    for (let j = 0; j < keyLength; j++) mask[(batch - 1) * keyLength + j] = 0;
  }
  let initialState;
  if (state) {
    const prefix = { batch, queryLength: 3, keyLength: 3, channels };
    const earlier = groupedForward(
      {
        q: randn(batch * 3 * channels),
        k: randn(batch * 3 * channels, 0.8),
        v: randn(batch * 3 * channels),
        dims: prefix,
      },
      { order, groupSize, causal: true },
    );
    initialState = earlier.finalState;
  }
  const options = { order, groupSize, causal, ...(initialState ? { initialState } : {}) };
  const run = (qx, kx, vx) =>
    groupedForward({ q: qx, k: kx, v: vx, dims, ...(mask ? { mask } : {}) }, options);
  const forward = run(q, k, v);
  const dy = randn(batch * queryLength * channels);
  const loss = (y) => y.reduce((sum, value, i) => sum + value * dy[i], 0);
  const dq = centralDifferenceGradient((x) => loss(run(x, k, v).y), Float64Array.from(q), 1e-6);
  const dk = centralDifferenceGradient((x) => loss(run(q, x, v).y), Float64Array.from(k), 1e-6);
  const dv = centralDifferenceGradient((x) => loss(run(q, k, x).y), Float64Array.from(v), 1e-6);
  return {
    name,
    kind: 'grouped',
    dims,
    order,
    groupSize,
    causal,
    q,
    k,
    v,
    mask: mask ?? null,
    ...(initialState ? { initialState: { s: list(initialState.s), z: list(initialState.z) } } : {}),
    y: list(forward.y),
    ...(forward.finalState
      ? { finalState: { s: list(forward.finalState.s), z: list(forward.finalState.z) } }
      : {}),
    dy,
    dq: list(dq),
    dk: list(dk),
    dv: list(dv),
  };
}

function groupedStepCase(name, { batch, channels, order, groupSize }) {
  const shape = groupedStateShape(order, groupSize, batch, channels);
  const state = {
    s: randn(
      shape.s.reduce((a, b) => a * b),
      0.1,
    ),
    z: randn(
      shape.z.reduce((a, b) => a * b),
      0.1,
    ).map((x) => Math.abs(x) + 0.5),
  };
  const size = batch * channels;
  const [q, k, v] = [randn(size), randn(size), randn(size)];
  const step = groupedStep(q, k, v, state, { order, groupSize, batch, channels });
  return {
    name,
    kind: 'grouped-step',
    batch,
    channels,
    order,
    groupSize,
    q,
    k,
    v,
    state,
    y: list(step.y),
    next: { s: list(step.state.s), z: list(step.state.z) },
  };
}

const cases = [];
for (const order of [0, 2, 4, 6, 8]) {
  cases.push(
    seriesCase(`non-causal order ${order}, Lq != L`, {
      batch: 2,
      queryLength: 3,
      keyLength: 5,
      channels: 3,
      order,
      causal: false,
    }),
  );
  cases.push(
    seriesCase(`causal order ${order}`, {
      batch: 2,
      queryLength: 7,
      keyLength: 7,
      channels: 5,
      order,
      causal: true,
    }),
  );
}
cases.push(
  seriesCase('L = 1 causal order 6', {
    batch: 1,
    queryLength: 1,
    keyLength: 1,
    channels: 2,
    order: 6,
    causal: true,
  }),
);
cases.push(
  seriesCase('masked non-causal order 6 (one batch element sees nothing)', {
    batch: 3,
    queryLength: 4,
    keyLength: 6,
    channels: 3,
    order: 6,
    causal: false,
    masked: true,
  }),
);
cases.push(
  seriesCase('masked causal order 4', {
    batch: 2,
    queryLength: 9,
    keyLength: 9,
    channels: 3,
    order: 4,
    causal: true,
    masked: true,
  }),
);
cases.push(
  seriesCase('state in/out causal order 6', {
    batch: 2,
    queryLength: 5,
    keyLength: 5,
    channels: 3,
    order: 6,
    causal: true,
    state: true,
  }),
);
cases.push(
  seriesCase('state in/out non-causal order 2 masked', {
    batch: 2,
    queryLength: 3,
    keyLength: 4,
    channels: 3,
    order: 2,
    causal: false,
    state: true,
    masked: true,
  }),
);
cases.push(
  seriesCase('long causal order 6 (L = 200, blocked scan)', {
    batch: 1,
    queryLength: 200,
    keyLength: 200,
    channels: 4,
    order: 6,
    causal: true,
  }),
);
// Keys near 11 (e^{-k²} ~ 1e-53, below float32's range): the op's power-of-two feature scaling
// keeps them; keys of one channel stay within the ~87 of k² that one scale can cover.
cases.push(
  seriesCase('far keys order 6 (k ~ 11, feature scaling)', {
    batch: 2,
    queryLength: 6,
    keyLength: 6,
    channels: 3,
    order: 6,
    causal: true,
    keyScale: 0.3,
    keyOffset: 11,
    scale: 0.1,
  }),
);
cases.push(
  seriesCase('far keys non-causal order 4 masked (k ~ -10)', {
    batch: 2,
    queryLength: 3,
    keyLength: 6,
    channels: 3,
    order: 4,
    causal: false,
    keyScale: 0.3,
    keyOffset: -10,
    scale: 0.1,
    masked: true,
  }),
);
// Far keys after a state: the state bounds the feature scale (it must stay finite scaled).
cases.push(
  seriesCase('far keys after a state, causal order 6 (k ~ 12.5)', {
    batch: 1,
    queryLength: 4,
    keyLength: 4,
    channels: 2,
    order: 6,
    causal: true,
    state: true,
    keyScale: 0.1,
    keyOffset: 12.5,
    scale: 0.3,
  }),
);
// Huge queries (|q| ~ 1e7): a_6 q^6 overflows float32, so large queries are read with the
// terms divided by q^t (as the TypeScript op reads them).
cases.push(
  seriesCase('huge queries causal order 6 (|q| ~ 1e7)', {
    batch: 2,
    queryLength: 5,
    keyLength: 5,
    channels: 3,
    order: 6,
    causal: true,
    scale: 1e7,
    keyScale: 0.8,
  }),
);
cases.push(
  seriesCase('large queries non-causal order 4 with state (|q| ~ 30)', {
    batch: 1,
    queryLength: 4,
    keyLength: 3,
    channels: 3,
    order: 4,
    causal: false,
    state: true,
    scale: 30,
    keyScale: 0.8,
  }),
);
cases.push(
  seriesCase('exact non-causal', {
    batch: 2,
    queryLength: 4,
    keyLength: 6,
    channels: 3,
    order: 'exact',
    causal: false,
  }),
);
cases.push(
  seriesCase('exact causal masked', {
    batch: 2,
    queryLength: 6,
    keyLength: 6,
    channels: 3,
    order: 'exact',
    causal: true,
    masked: true,
  }),
);
// DESIGN.md §5: the float32 target is a relative RMS error <= 1e-5 up to L = 4096 (causal).
cases.push(
  seriesCase('long causal order 6 (L = 4096, float32 accuracy)', {
    batch: 1,
    queryLength: 4096,
    keyLength: 4096,
    channels: 2,
    order: 6,
    causal: true,
  }),
);
cases.push(stepCase('step order 6', { batch: 2, channels: 5, order: 6 }));
cases.push(stepCase('step order 2', { batch: 1, channels: 3, order: 2 }));
cases.push(
  groupedCase('grouped d=2 order 4 non-causal', {
    batch: 2,
    queryLength: 3,
    keyLength: 5,
    channels: 4,
    order: 4,
    groupSize: 2,
    causal: false,
  }),
);
cases.push(
  groupedCase('grouped d=2 order 6 causal masked', {
    batch: 2,
    queryLength: 6,
    keyLength: 6,
    channels: 4,
    order: 6,
    groupSize: 2,
    causal: true,
    masked: true,
  }),
);
cases.push(
  groupedCase('grouped d=3 order 2 causal with state', {
    batch: 1,
    queryLength: 4,
    keyLength: 4,
    channels: 6,
    order: 2,
    groupSize: 3,
    causal: true,
    state: true,
  }),
);
cases.push(
  groupedCase('grouped d=2 exact causal', {
    batch: 1,
    queryLength: 5,
    keyLength: 5,
    channels: 4,
    order: 'exact',
    groupSize: 2,
    causal: true,
  }),
);
cases.push(
  groupedStepCase('grouped step d=4 order 4', { batch: 2, channels: 8, order: 4, groupSize: 4 }),
);

writeFileSync(out, JSON.stringify({ cases }));
console.log(`wrote ${cases.length} oracle cases to ${out}`);
