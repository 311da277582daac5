import type { KernelForm } from '@elementwise/attention';
import { kernelRecordPlan } from '@elementwise/attention/authoring';
import type { StepRecord } from '../maths/records.js';
import type { NamedKernelBody } from './heap_guarded_kernel.js';

/**
 * The body of the contract's kernel `form`: the call is checked and laid out by the contract
 * (`kernelRecordPlan`), and `compute` receives it as one record, its input and output views, its
 * sizes and its attrs under the contract's names: the fields of ../maths/records.ts, and of the
 * WebAssembly module's records.
 */
export function recordKernelBody<Call>(
  form: KernelForm,
  compute: (call: Call) => void,
): NamedKernelBody {
  return (inputs, attrs) => {
    const plan = kernelRecordPlan(form, inputs, attrs);
    return {
      inputs: Object.fromEntries(plan.inputs),
      outputShapes: Object.fromEntries(plan.outputs),
      compute: (views) => compute({ ...views, ...plan.scalars } as Call),
    };
  };
}

/** A step's record from its views (q, k, v, s, z, y, nextS, nextZ) and its sizes and attrs. */
export function stepRecord<Sizes extends Omit<StepRecord, StepArray>>(
  views: Readonly<Record<string, Float32Array>>,
  sizes: Sizes,
): Pick<StepRecord, StepArray> & Sizes {
  const { q, k, v, s, z, y, nextS, nextZ } = views;
  return { q, k, v, s, z, y, nextS, nextZ, ...sizes };
}

type StepArray = 'q' | 'k' | 'v' | 's' | 'z' | 'y' | 'nextS' | 'nextZ';
