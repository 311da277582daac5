import {
  ElementwiseAttentionStep,
  type ElementwiseAttentionStepInputs,
} from '@elementwise/attention';
import { stepDims } from '@elementwise/attention/authoring';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { run, runAll } from '../moment_passes.js';
import { assertFloat32Textures } from '../precision.js';
import { stepOutputProgram, stepStateProgram } from '../programs/step_programs.js';

/** Fused step: `s' = s + f(k) v`, `z' = z + f(k)`, then y from the updated state. Three passes. */
const step: KernelFunc = ({ inputs, attrs, backend }) => {
  const webgl = backend as MathBackendWebGL;
  assertFloat32Textures(webgl, ElementwiseAttentionStep);
  const { order, batch, channels } = stepDims(attrs ?? {}, inputs as Record<string, TensorInfo>);
  const { q, k, v, s, z } = inputs as unknown as ElementwiseAttentionStepInputs;
  const terms = order + 1;
  const [nextS, nextZ] = runAll(webgl, [
    () => run(webgl, stepStateProgram(batch, terms, channels, true), [k, v, s]),
    () => run(webgl, stepStateProgram(batch, terms, channels, false), [k, v, z]),
  ]);
  try {
    const y = run(webgl, stepOutputProgram(batch, terms, channels), [q, nextS, nextZ]);
    return [y, nextS, nextZ];
  } catch (error) {
    webgl.disposeIntermediateTensorInfo(nextS);
    webgl.disposeIntermediateTensorInfo(nextZ);
    throw error;
  }
};

export const elementwiseAttentionStepWebGLConfig: KernelConfig = {
  kernelName: ElementwiseAttentionStep,
  backendName: 'webgl',
  kernelFunc: step,
};
