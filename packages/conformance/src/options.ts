import { type KernelForm, kernelContracts } from '@elementwise/attention';
import type { Case } from './cases.js';
import { conformanceCases } from './cases.js';
import type { OutputPoisoner } from './poison.js';
import { type Precision, resolveTolerances, type Tolerances } from './tolerances.js';

export type { KernelForm };

/** Every kernel form of the contract, in the order reports list them. */
export const KERNEL_FORMS = Object.keys(kernelContracts) as readonly KernelForm[];

export interface ConformanceOptions {
  /** The tfjs backend name the adapter's kernels are registered under (`tf.setBackend` name). */
  backend: string;
  /**
   * Runs once before the suite (in `beforeAll`): import or register the adapter's kernels, and
   * initialise the backend. The kit then calls `tf.setBackend(backend)` and fails if the backend
   * does not become active.
   */
  setup?: () => void | Promise<void>;
  /** Runs once after the suite (in `afterAll`). */
  teardown?: () => void | Promise<void>;
  /** The precision the backend computes in; selects the default tolerances. Default float32. */
  precision?: Precision;
  /** Per-form overrides of the default tolerances (see `DEFAULT_TOLERANCES`). */
  tolerance?: Partial<Tolerances>;
  /**
   * `'full'` (default) runs every case at full size; `'small'` shortens the long cases, the step
   * loop and the property runs for slow (software) GPUs.
   */
  size?: 'full' | 'small';
  /** L of the long-sequence accuracy test. Default 65 536 (full) or 4 096 (small). */
  longSequence?: number;
  /**
   * NaN-poisoning of fresh output buffers. `true` (default) uses the built-in poisoner where the
   * kit has one for the backend (tfjs `wasm`); `false` turns poisoning off; an
   * {@link OutputPoisoner} supplies the adapter's own.
   */
  poisonOutputs?: boolean | OutputPoisoner;
  /**
   * Fused kernels the adapter means to provide. A test fails when one of them is not registered
   * for `backend` after `setup`, so a registration mistake cannot leave the kit silently testing
   * the composite fallback.
   */
  expectFused?: readonly KernelForm[];
  /** Per-test timeout in milliseconds. Default 300 000. */
  timeout?: number;
}

export interface ResolvedOptions {
  backend: string;
  setup?: () => void | Promise<void>;
  teardown?: () => void | Promise<void>;
  precision: Precision;
  tolerances: Tolerances;
  size: 'full' | 'small';
  longSequence: number;
  poisonOutputs: boolean | OutputPoisoner;
  expectFused: readonly KernelForm[];
  timeout: number;
  /** The shapes every form is checked at. */
  cases: Case[];
  /** Steps of the step loop compared with the causal parallel form. */
  stepLoop: number;
  /** Examples per fast-check property. */
  propertyRuns: number;
}

const OPTION_NAMES = [
  'backend',
  'setup',
  'teardown',
  'precision',
  'tolerance',
  'size',
  'longSequence',
  'poisonOutputs',
  'expectFused',
  'timeout',
];

export function resolveOptions(options: ConformanceOptions): ResolvedOptions {
  const fail = (message: string): never => {
    throw new Error(`describeBackendConformance: ${message}`);
  };
  if (options == null || typeof options !== 'object') fail('options must be an object');
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.includes(name)) {
      fail(`unknown option '${name}'; expected one of ${OPTION_NAMES.join(', ')}`);
    }
  }
  if (typeof options.backend !== 'string' || options.backend === '') {
    fail(`backend must be a tfjs backend name, got ${String(options.backend)}`);
  }
  const size = options.size ?? 'full';
  if (size !== 'full' && size !== 'small') fail(`size must be 'full' or 'small', got ${size}`);
  const small = size === 'small';
  const longSequence = options.longSequence ?? (small ? 4096 : 65_536);
  if (!Number.isInteger(longSequence) || longSequence < 2) {
    fail(`longSequence must be an integer >= 2, got ${longSequence}`);
  }
  const timeout = options.timeout ?? 300_000;
  if (!(timeout > 0)) fail(`timeout must be a positive number of milliseconds, got ${timeout}`);
  const expectFused = options.expectFused ?? [];
  for (const form of expectFused) {
    if (!KERNEL_FORMS.includes(form)) {
      fail(
        `expectFused must list ${KERNEL_FORMS.map((x) => `'${x}'`).join(', ')}, got ${String(form)}`,
      );
    }
  }
  let tolerances: Tolerances;
  try {
    tolerances = resolveTolerances(options.precision, options.tolerance);
  } catch (error) {
    return fail((error as Error).message);
  }
  return {
    backend: options.backend,
    setup: options.setup,
    teardown: options.teardown,
    precision: options.precision ?? 'float32',
    tolerances,
    size,
    longSequence,
    poisonOutputs: options.poisonOutputs ?? true,
    expectFused,
    timeout,
    cases: conformanceCases(small ? 151 : 301),
    stepLoop: small ? 200 : 1000,
    propertyRuns: small ? 5 : 15,
  };
}
