import {
  ElementwiseAttentionStep,
  type ElementwiseAttentionStepInputs,
} from '@elementwise/attention';
import { stepDims } from '@elementwise/attention/authoring';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { run, runAll } from '../moment_passes.js';
import { stepOutputProgram, stepStateProgram } from '../programs/step_programs.js';
import { webglKernel } from '../webgl_kernel.js';

/** Fused step: `s' = s + f(k) v`, `z' = z + f(k)`, then y from the updated state. Three passes. */
function step(
  webgl: MathBackendWebGL,
  { q, k, v, s, z }: ElementwiseAttentionStepInputs,
  { order, batch, channels }: ReturnType<typeof stepDims>,
): TensorInfo[] {
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
}

export const elementwiseAttentionStepWebGLConfig = webglKernel(
  ElementwiseAttentionStep,
  stepDims,
  step,
);
