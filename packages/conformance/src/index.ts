/**
 * `@elementwise/conformance`: the test kit every element-wise attention backend adapter runs.
 * `describeBackendConformance({ backend: 'my-backend', setup })` in a vitest file checks the
 * adapter's kernels (or the composite fallback where it registers none) against the float64
 * oracle. See CONTRIBUTING-BACKEND.md.
 */
export { type Case, conformanceCases, describeCase, ORDERS } from './cases.js';
export { describeBackendConformance } from './describe.js';
export { type FusedKernels, fusedKernels } from './kit.js';
export type { ConformanceOptions, KernelForm } from './options.js';
export { heapOutputPoisoner, type OutputPoisoner } from './poison.js';
export { randomGenerator, randomMask, randomNormal } from './random.js';
export {
  DEFAULT_TOLERANCES,
  type Precision,
  resolveTolerances,
  TOLERANCE_FORMS,
  type ToleranceForm,
  type Tolerances,
} from './tolerances.js';
