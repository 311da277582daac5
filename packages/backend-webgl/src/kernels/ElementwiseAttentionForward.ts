import {
  ElementwiseAttentionForward,
  type ElementwiseAttentionInputs,
} from '@elementwise/attention';
import { forwardDims } from '@elementwise/attention/authoring';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { emptyState, run, runAll, scanRows, sumRows } from '../moment_passes.js';
import { assertFloat32Textures } from '../precision.js';
import type { CallDims } from '../programs/call_dims.js';
import { exactQueryProgram } from '../programs/exact_programs.js';
import { keyTermsProgram } from '../programs/key_terms_program.js';
import { seriesOutputProgram } from '../programs/series_output_program.js';
import { stateProgram } from '../programs/state_program.js';

/**
 * Series moments seen by each query, `[B, R, 2T, D]` without the initial state: prefix sums over
 * the keys when causal (R = L), totals otherwise (R = 1). Shared with the backward pass.
 */
export function seriesMoments(
  backend: MathBackendWebGL,
  inputs: ElementwiseAttentionInputs,
  dims: CallDims,
): TensorInfo {
  const { k, v, mask } = inputs;
  const keyTerms = run(backend, keyTermsProgram(dims), [k, v, mask]);
  return dims.causal ? scanRows(backend, keyTerms, false) : sumRows(backend, keyTerms);
}

/**
 * Fused forward: `[y, finalS, finalZ]`. Series orders: key terms, a scan (causal) or a tree
 * reduction (non-causal) over L, then the output and the two final states; 3 + 2⌈log₁₆ L⌉
 * passes causal. `'exact'`: one quadratic pass, and empty states.
 */
const forward: KernelFunc = ({ inputs, attrs, backend }) => {
  const webgl = backend as MathBackendWebGL;
  assertFloat32Textures(webgl, ElementwiseAttentionForward);
  const { order, causal, dims } = forwardDims(attrs ?? {}, inputs as Record<string, TensorInfo>);
  const contract = inputs as unknown as ElementwiseAttentionInputs;
  const { q, k, v, mask, initialS, initialZ } = contract;
  const call: CallDims = { ...dims, terms: order === 'exact' ? 0 : order + 1, causal };
  if (order === 'exact') {
    return runAll(webgl, [
      () => run(webgl, exactQueryProgram(call, 'y'), [q, k, v, mask]),
      () => emptyState(webgl, initialS.shape),
      () => emptyState(webgl, initialZ.shape),
    ]);
  }
  const moments = seriesMoments(webgl, contract, call);
  try {
    const last = causal ? call.keys - 1 : 0;
    return runAll(webgl, [
      () => run(webgl, seriesOutputProgram(call), [q, moments, initialS, initialZ]),
      () => run(webgl, stateProgram(call, last, 0), [initialS, moments]),
      () => run(webgl, stateProgram(call, last, 1), [initialZ, moments]),
    ]);
  } finally {
    webgl.disposeIntermediateTensorInfo(moments);
  }
};

export const elementwiseAttentionForwardWebGLConfig: KernelConfig = {
  kernelName: ElementwiseAttentionForward,
  backendName: 'webgl',
  kernelFunc: forward,
};
