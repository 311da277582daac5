// The float64 softmax attention the op's tests compare against lives with the benchmark harness,
// which cannot be a dependency of this package (it depends on this package).
export * from '../../../tooling/bench/src/softmax_reference.js';
