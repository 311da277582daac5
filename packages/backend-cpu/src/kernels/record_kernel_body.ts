import type { KernelForm } from '@elementwise/attention';
import { kernelRecordPlan } from '@elementwise/attention/authoring';
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
