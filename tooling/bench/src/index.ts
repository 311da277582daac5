/**
 * The benchmark harness: inputs, correctness gates against float64, timing and tables. Runs in
 * Node and in browsers; the Node-only parts (tfjs cpu/wasm set-up, machine description) are in
 * `@elementwise/bench/node`.
 */
export * from './contest.js';
export * from './format.js';
export * from './gates.js';
export * from './inputs.js';
export * from './rounds.js';
export * from './step_bench.js';
export * from './timing.js';
