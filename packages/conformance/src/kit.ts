import { kernelContracts } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, type TestContext } from 'vitest';
import { type Case, describeCase } from './cases.js';
import { Comparator } from './compare.js';
import { type CaseData, caseData } from './data.js';
import { KERNEL_FORMS, type KernelForm, type ResolvedOptions } from './options.js';
import { defaultPoisoner } from './poison.js';
import { TOLERANCE_FORMS } from './tolerances.js';

export const KERNEL_NAMES = Object.fromEntries(
  KERNEL_FORMS.map((form) => [form, kernelContracts[form].kernelName]),
) as Readonly<Record<KernelForm, string>>;

export type FusedKernels = Record<KernelForm, boolean>;

/** Which of the contract's kernels `backend` registers (the op runs the composite for the rest). */
export function fusedKernels(backend: string): FusedKernels {
  const has = (form: KernelForm) => tf.getKernel(KERNEL_NAMES[form], backend) != null;
  return Object.fromEntries(KERNEL_FORMS.map((form) => [form, has(form)])) as FusedKernels;
}

/** Tensors the engine tracks and data ids the active backend holds. */
export interface MemorySnapshot {
  tensors: number;
  dataIds: number;
}

export function memorySnapshot(): MemorySnapshot {
  return { tensors: tf.memory().numTensors, dataIds: tf.engine().backend.numDataIds() };
}

/**
 * Asserts that no tensor and no backend data id was added since `before`, reporting how many
 * of each were.
 */
export function expectNothingLeft(before: MemorySnapshot, what: string): void {
  const now = memorySnapshot();
  expect(
    { tensors: now.tensors - before.tensors, dataIds: now.dataIds - before.dataIds },
    `tensors and backend data ids ${what}`,
  ).toEqual({ tensors: 0, dataIds: 0 });
}

/** Makes `name` the active backend, or throws. */
export async function activateBackend(name: string): Promise<void> {
  if (tf.getBackend() === name) return;
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) {
    throw new Error(
      `tfjs backend '${name}' failed to initialise (active: ${tf.getBackend()}); ` +
        `registered: ${Object.keys(tf.engine().registryFactory).join(', ')}`,
    );
  }
}

/** State shared by the suites of one `describeBackendConformance` call. */
export class Kit {
  readonly compare: Comparator;
  fused: FusedKernels = { forward: false, backward: false, step: false, groupedStep: false };
  poisoning = 'not installed yet';
  private unpoison?: () => void;

  constructor(readonly options: ResolvedOptions) {
    this.compare = new Comparator(options.tolerances);
  }

  get backend(): string {
    return this.options.backend;
  }

  /** Runs after the adapter's setup: activates the backend, installs poisoning, reports. */
  async start(): Promise<void> {
    await this.options.setup?.();
    await activateBackend(this.backend);
    this.fused = fusedKernels(this.backend);
    const poison = this.options.poisonOutputs;
    const backend = tf.engine().backend;
    if (poison === false) {
      this.poisoning = 'none (poisonOutputs: false)';
    } else if (poison === true) {
      const { poisoner, reason } = defaultPoisoner(backend);
      this.poisoning = poisoner ? poisoner.description : reason;
      this.unpoison = poisoner?.install(backend);
    } else {
      this.poisoning = poison.description;
      this.unpoison = poison.install(backend);
    }
    console.info(this.report());
  }

  async stop(): Promise<void> {
    this.unpoison?.();
    this.unpoison = undefined;
    console.info(
      `[EA conformance] '${this.backend}': largest relative RMS errors: ${this.compare.summary()}`,
    );
    await this.options.teardown?.();
  }

  /** What this run tests: which kernels are fused, what is poisoned, the bounds in force. */
  report(): string {
    const path = (form: KernelForm) =>
      `${KERNEL_NAMES[form]} ${this.fused[form] ? 'FUSED' : 'composite'}`;
    const t = this.options.tolerances;
    const bounds = [...TOLERANCE_FORMS, 'zero' as const].map(
      (form) => `${form} ${t[form].toExponential(0)}`,
    );
    return [
      `[EA conformance] backend '${this.backend}' (${this.options.precision}, size ${this.options.size}):`,
      `  kernels: ${KERNEL_FORMS.map(path).join(', ')}`,
      `  output poisoning: ${this.poisoning}`,
      `  tolerances (relative RMS): ${bounds.join(', ')}; long sequence L = ${this.options.longSequence}`,
    ].join('\n');
  }

  /**
   * A kit test: runs on the adapter's backend, and fails if it leaves a tensor or a backend data
   * id behind.
   */
  test(name: string, body: (context: TestContext) => Promise<void> | void): void {
    it(
      name,
      async (context) => {
        await activateBackend(this.backend);
        const before = memorySnapshot();
        await body(context);
        expectNothingLeft(before, 'left behind by the test');
      },
      this.options.timeout,
    );
  }

  /** One kit test per case of the run, named by the case, given the case's generated data. */
  testEachCase(body: (c: Case, d: CaseData, context: TestContext) => Promise<void>): void {
    for (const c of this.options.cases) {
      this.test(describeCase(c), (context) => body(c, caseData(c), context));
    }
  }

  /** Skips the running test, with a note, when the backend has no fused kernel of this form. */
  requireFused(context: TestContext, form: KernelForm): void {
    if (!this.fused[form]) {
      context.skip(`no fused ${KERNEL_NAMES[form]} on '${this.backend}'`);
    }
  }
}
