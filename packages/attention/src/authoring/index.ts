/**
 * `@elementwise/attention/authoring`: what backend adapters need beside the kernel contract
 * (whose names and input types are in the main entry): checks of what the op hands a kernel,
 * host-memory kernel plumbing, and the registration every adapter uses.
 */
export {
  type Compute,
  type HostBackendName,
  type KernelBody,
  kernelFuncFor,
} from './host_memory_kernel.js';
export {
  backwardDims,
  checkKernelCall,
  expectShape,
  forwardDims,
  groupedStepDims,
  type KernelCall,
  type KernelDims,
  readOrder,
  stepDims,
} from './kernel_checks.js';
export { type KernelRecordPlan, kernelRecordPlan } from './kernel_record.js';
export { type RegisterKernelsOptions, registerKernels } from './register_kernels.js';
