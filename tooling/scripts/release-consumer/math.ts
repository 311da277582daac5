// A user of @elementwise/math, as published: imports its public entry point only, and checks
// computed values against numbers worked out here independently.
import { type AttentionInputs, eaForward, type Order, taylorCoefficients } from '@elementwise/math';
import { checkerFor } from './support/check.js';

const check = checkerFor('@elementwise/math');

// a_n = 2^n / n!
const a = taylorCoefficients(6);
check(a instanceof Float64Array, 'taylorCoefficients must return a Float64Array');
const expected = [1, 2, 2, 4 / 3, 2 / 3, 4 / 15, 4 / 45];
check(a.length === expected.length, `taylorCoefficients(6) has ${a.length} values, expected 7`);
expected.forEach((value, n) => {
  check(Math.abs(a[n] - value) <= 1e-15 * value, `a_${n} = ${a[n]}, expected ${value}`);
});

// One query, two keys, one channel: y = Σ_j w_j v_j / Σ_j w_j with w_j = exp(-(q - k_j)²).
const q = 0.3;
const k = [0.1, -0.4];
const v = [2, -1];
const w = k.map((kj) => Math.exp(-((q - kj) ** 2)));
const exact = (w[0] * v[0] + w[1] * v[1]) / (w[0] + w[1]);

const inputs: AttentionInputs = {
  q: [q],
  k,
  v,
  dims: { batch: 1, queryLength: 1, keyLength: 2, channels: 1 },
};
const results = (['exact', 8] as Order[]).map((order) => ({
  order,
  y: eaForward(inputs, { order }).y,
}));
for (const { order, y } of results) {
  check(y.length === 1, `eaForward(order ${order}) returned ${y.length} values, expected 1`);
  // |2qk| <= 0.24, so the degree-8 Taylor polynomial is exact to ~1e-12 here.
  check(Math.abs(y[0] - exact) <= 1e-10, `eaForward(order ${order}) = ${y[0]}, expected ${exact}`);
}

console.log(`taylorCoefficients(6) = [${Array.from(a, (x) => x.toPrecision(6)).join(', ')}]`);
console.log(
  `eaForward: exact ${results[0].y[0].toFixed(12)}, order 8 ${results[1].y[0].toFixed(12)}`,
);
console.log('ok');
