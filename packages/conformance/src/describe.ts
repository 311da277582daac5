import { afterAll, beforeAll, describe } from 'vitest';
import { Kit } from './kit.js';
import { type ConformanceOptions, resolveOptions } from './options.js';
import { backwardSuite } from './suites/backward.js';
import { contractSuite } from './suites/contract.js';
import { errorsSuite } from './suites/errors.js';
import { forwardSuite } from './suites/forward.js';
import { groupedSuite } from './suites/grouped.js';
import { largeValuesSuite } from './suites/large_values.js';
import { longSequenceSuite } from './suites/long_sequence.js';
import { memorySuite } from './suites/memory.js';
import { nonFiniteSuite } from './suites/non_finite.js';
import { numericsSuite } from './suites/numerics.js';
import { propertiesSuite } from './suites/properties.js';
import { setupSuite } from './suites/setup.js';
import { stepSuite } from './suites/step.js';

/**
 * Declares the conformance suite of the element-wise attention kernel contract for one tfjs
 * backend, as a vitest `describe` block: call it at the top level of a test file.
 *
 * Every kernel the backend fuses is called directly with the shapes the contract's data gives
 * (`kernelContracts`). Every form (forward, gradients, recurrent step, long sequences) is compared with the float64
 * oracle of `@elementwise/math` over the contract's shapes and orders; properties are checked
 * with fast-check; the grouped form (`groupSize`) is checked against the oracle's; the
 * zero-denominator rule, the propagation of non-finite inputs, large finite queries, error messages, tensor and data-id leaks and
 * unwritten outputs (NaN-poisoned buffers) are checked too. Before the tests run, the kit prints
 * which kernels are fused on the backend and which run the composite fallback.
 */
export function describeBackendConformance(options: ConformanceOptions): void {
  const kit = new Kit(resolveOptions(options));
  describe(`element-wise attention conformance on '${kit.backend}'`, () => {
    beforeAll(() => kit.start(), kit.options.timeout);
    afterAll(() => kit.stop(), kit.options.timeout);
    setupSuite(kit);
    contractSuite(kit);
    forwardSuite(kit);
    backwardSuite(kit);
    stepSuite(kit);
    groupedSuite(kit);
    longSequenceSuite(kit);
    propertiesSuite(kit);
    numericsSuite(kit);
    nonFiniteSuite(kit);
    largeValuesSuite(kit);
    errorsSuite(kit);
    memorySuite(kit);
  });
}
