import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { assertFloat32Textures } from './precision.js';

/**
 * The config of a kernel for tfjs `webgl`. Every call first refuses float16 textures
 * (precision.ts); then `check` validates it against the contract (`forwardDims`, … from
 * `@elementwise/attention/authoring`) and `compute` receives the backend, the inputs as the
 * contract's named record and what `check` returned.
 */
export function webglKernel<Inputs, Call>(
  kernelName: string,
  check: (attrs: NamedAttrMap, inputs: Record<string, TensorInfo>) => Call,
  compute: (backend: MathBackendWebGL, inputs: Inputs, call: Call) => TensorInfo[],
): KernelConfig {
  return {
    kernelName,
    backendName: 'webgl',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const webgl = backend as MathBackendWebGL;
      assertFloat32Textures(webgl, kernelName);
      const call = check(attrs ?? {}, inputs as Record<string, TensorInfo>);
      return compute(webgl, inputs as unknown as Inputs, call);
    },
  };
}
