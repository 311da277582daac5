import {
  ElementwiseAttentionBackward,
  type ElementwiseAttentionBackwardInputs,
} from '@elementwise/attention';
import { backwardDims } from '@elementwise/attention/authoring';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { emptyState, run, runAll, scanRows, sumRows } from '../moment_passes.js';
import { assertFloat32Textures } from '../precision.js';
import type { CallDims } from '../programs/call_dims.js';
import {
  exactKeyGradientProgram,
  exactQueryGradientProgram,
  exactQueryProgram,
} from '../programs/exact_programs.js';
import { seriesKeyGradientProgram } from '../programs/key_gradient_program.js';
import { queryAdjointProgram } from '../programs/query_adjoint_program.js';
import { queryGradientProgram } from '../programs/query_gradient_program.js';
import { queryTermsProgram } from '../programs/query_terms_program.js';
import { stateProgram } from '../programs/state_program.js';
import { seriesMoments } from './ElementwiseAttentionForward.js';

/** `'exact'`: per-query statistics, then dq per query and dk, dv per key (quadratic). */
function exactBackward(
  backend: MathBackendWebGL,
  inputs: ElementwiseAttentionBackwardInputs,
  dims: CallDims,
): TensorInfo[] {
  const { q, k, v, mask, dy, initialS, initialZ } = inputs;
  const stats = run(backend, exactQueryProgram(dims, 'stats'), [q, k, v, mask]);
  try {
    const gradientInputs = [q, k, v, mask, dy, stats];
    return runAll(backend, [
      () => run(backend, exactQueryGradientProgram(dims), gradientInputs),
      () => run(backend, exactKeyGradientProgram(dims, 'dk'), gradientInputs),
      () => run(backend, exactKeyGradientProgram(dims, 'dv'), gradientInputs),
      () => emptyState(backend, initialS.shape),
      () => emptyState(backend, initialZ.shape),
    ]);
  } finally {
    backend.disposeIntermediateTensorInfo(stats);
  }
}

/**
 * Series orders, O(tLD) work and textures:
 * 1. the forward moments again (scan or reduction over the keys);
 * 2. per query α, β, then dq, and each query's terms `α a_n q^n`, `β a_n q^n`;
 * 3. those terms suffix-summed over the queries (reverse scan; totals when non-causal): the
 *    adjoints A_n(j), B_n(j);
 * 4. dk, dv per key, and the initial-state gradients (dFinal + the adjoints of key 0 / totals).
 */
function seriesBackward(
  backend: MathBackendWebGL,
  inputs: ElementwiseAttentionBackwardInputs,
  dims: CallDims,
): TensorInfo[] {
  const { q, k, v, mask, initialS, initialZ, dy, dFinalS, dFinalZ } = inputs;
  // Scratch textures are released as soon as the last pass reading them has run; if a pass
  // throws, everything made so far (scratch and finished outputs) is released.
  const scratch: TensorInfo[] = [];
  const outputs: TensorInfo[] = [];
  const keep = (list: TensorInfo[], info: TensorInfo) => {
    list.push(info);
    return info;
  };
  const release = (info: TensorInfo) => {
    scratch.splice(scratch.indexOf(info), 1);
    backend.disposeIntermediateTensorInfo(info);
  };
  try {
    const moments = keep(scratch, seriesMoments(backend, inputs, dims));
    const momentInputs = [moments, initialS, initialZ];
    const adjoint = keep(
      scratch,
      run(backend, queryAdjointProgram(dims), [q, dy, ...momentInputs]),
    );
    const dq = keep(
      outputs,
      run(backend, queryGradientProgram(dims), [q, adjoint, ...momentInputs]),
    );
    release(moments);
    const queryTerms = run(backend, queryTermsProgram(dims), [q, adjoint]);
    release(adjoint);
    // scanRows and sumRows take ownership of queryTerms.
    const adjoints = keep(
      scratch,
      dims.causal ? scanRows(backend, queryTerms, true) : sumRows(backend, queryTerms),
    );
    const keyInputs = [k, v, mask, adjoints, dFinalS, dFinalZ];
    const dk = keep(outputs, run(backend, seriesKeyGradientProgram(dims, 'dk'), keyInputs));
    const dv = keep(outputs, run(backend, seriesKeyGradientProgram(dims, 'dv'), keyInputs));
    const dInitialS = keep(outputs, run(backend, stateProgram(dims, 0, 0), [dFinalS, adjoints]));
    const dInitialZ = keep(outputs, run(backend, stateProgram(dims, 0, 1), [dFinalZ, adjoints]));
    release(adjoints);
    return [dq, dk, dv, dInitialS, dInitialZ];
  } catch (error) {
    for (const info of [...scratch, ...outputs]) backend.disposeIntermediateTensorInfo(info);
    throw error;
  }
}

/** Fused backward: `[dq, dk, dv, dInitialS, dInitialZ]`. */
const backward: KernelFunc = ({ inputs, attrs, backend }) => {
  const webgl = backend as MathBackendWebGL;
  assertFloat32Textures(webgl, ElementwiseAttentionBackward);
  const { order, causal, dims } = backwardDims(attrs ?? {}, inputs as Record<string, TensorInfo>);
  const contract = inputs as unknown as ElementwiseAttentionBackwardInputs;
  if (order === 'exact') return exactBackward(webgl, contract, { ...dims, terms: 0, causal });
  return seriesBackward(webgl, contract, { ...dims, terms: order + 1, causal });
};

export const elementwiseAttentionBackwardWebGLConfig: KernelConfig = {
  kernelName: ElementwiseAttentionBackward,
  backendName: 'webgl',
  kernelFunc: backward,
};
