import {
  ElementwiseAttentionForward,
  type ElementwiseAttentionInputs,
} from '@elementwise/attention';
import { forwardDims } from '@elementwise/attention/authoring';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { emptyState, run, runAll, scanRows, sumRows } from '../moment_passes.js';
import { assertFloat32Textures } from '../precision.js';
import { exactForwardProgram } from '../programs/exact_programs.js';
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
  terms: number,
  causal: boolean,
): TensorInfo {
  const { k, v, mask } = inputs;
  const [batch, keys, channels] = k.shape;
  const keyTerms = run(backend, keyTermsProgram(batch, keys, terms, channels), [k, v, mask]);
  return causal ? scanRows(backend, keyTerms, false) : sumRows(backend, keyTerms);
}

/**
 * Fused forward: `[y, finalS, finalZ]`. Series orders: key terms, a scan (causal) or a tree
 * reduction (non-causal) over L, then the output and the two final states; 4 + ⌈log₄ L⌉ passes
 * causal. `'exact'`: one quadratic pass, and empty states.
 */
const forward: KernelFunc = ({ inputs, attrs, backend }) => {
  const webgl = backend as MathBackendWebGL;
  assertFloat32Textures(webgl, ElementwiseAttentionForward);
  const { order, causal, dims } = forwardDims(attrs ?? {}, inputs as Record<string, TensorInfo>);
  const contract = inputs as unknown as ElementwiseAttentionInputs;
  const { q, k, v, mask, initialS, initialZ } = contract;
  const { batch, queries, keys, channels } = dims;
  if (order === 'exact') {
    const program = exactForwardProgram(batch, queries, keys, channels, causal);
    return runAll(webgl, [
      () => run(webgl, program, [q, k, v, mask]),
      () => emptyState(webgl, initialS.shape),
      () => emptyState(webgl, initialZ.shape),
    ]);
  }
  const terms = order + 1;
  const moments = seriesMoments(webgl, contract, terms, causal);
  try {
    const output = seriesOutputProgram(batch, queries, terms, channels, causal);
    const last = causal ? keys - 1 : 0;
    return runAll(webgl, [
      () => run(webgl, output, [q, moments, initialS, initialZ]),
      () => run(webgl, stateProgram(batch, terms, channels, last, 0), [initialS, moments]),
      () => run(webgl, stateProgram(batch, terms, channels, last, 1), [initialZ, moments]),
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
