import {
  ElementwiseAttentionBackward,
  ElementwiseAttentionForward,
  ElementwiseAttentionStep,
} from '@elementwise/attention';
import {
  backwardDims,
  forwardDims,
  type HostBackendName,
  type KernelBody,
  kernelFuncFor,
  stepDims,
} from '@elementwise/attention/authoring';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { nativeAddon } from './native.js';
import { nativeOrder } from './native_order.js';

/**
 * Forward: inputs q, k, v, mask, initialS, initialZ; outputs [y, finalS, finalZ]. One addon
 * call: on the CUDA path the inputs cross to the device once and the outputs come back once.
 */
const forward: KernelBody = (inputs, attrs) => {
  const { order, causal, dims: d } = forwardDims(attrs, inputs);
  const { q, k, v, mask, initialS, initialZ } = inputs;
  return {
    inputs: [q, k, v, mask, initialS, initialZ],
    outputShapes: [q.shape, initialS.shape, initialZ.shape],
    compute: ([qv, kv, vv, mv, s0, z0], [y, finalS, finalZ]) => {
      nativeAddon().forward(
        qv,
        kv,
        vv,
        mv,
        s0,
        z0,
        y,
        finalS,
        finalZ,
        d.batch,
        d.queries,
        d.keys,
        d.channels,
        nativeOrder(order),
        causal,
      );
    },
  };
};

/** Backward: the six forward inputs, dy, dFinalS, dFinalZ; outputs [dq, dk, dv, dInitialS, dInitialZ]. */
const backward: KernelBody = (inputs, attrs) => {
  const { order, causal, dims: d } = backwardDims(attrs, inputs);
  const { q, k, v, mask, initialS, initialZ, dy, dFinalS, dFinalZ } = inputs;
  return {
    inputs: [q, k, v, mask, initialS, initialZ, dy, dFinalS, dFinalZ],
    outputShapes: [q.shape, k.shape, v.shape, initialS.shape, initialZ.shape],
    compute: (views, [dq, dk, dv, dInitialS, dInitialZ]) => {
      const [qv, kv, vv, mv, s0, z0, dyv, dfs, dfz] = views;
      nativeAddon().backward(
        qv,
        kv,
        vv,
        mv,
        s0,
        z0,
        dyv,
        dfs,
        dfz,
        dq,
        dk,
        dv,
        dInitialS,
        dInitialZ,
        d.batch,
        d.queries,
        d.keys,
        d.channels,
        nativeOrder(order),
        causal,
      );
    },
  };
};

/** Recurrent step: inputs q, k, v [B,D], s, z [B,T,D]; outputs [y, s', z']. */
const step: KernelBody = (inputs, attrs) => {
  const { order, batch, channels, stateShape } = stepDims(attrs, inputs);
  const { q, k, v, s, z } = inputs;
  return {
    inputs: [q, k, v, s, z],
    outputShapes: [q.shape, stateShape, stateShape],
    compute: ([qv, kv, vv, sv, zv], [y, nextS, nextZ]) => {
      nativeAddon().step(qv, kv, vv, sv, zv, y, nextS, nextZ, batch, channels, order);
    },
  };
};

const configs = (backendName: HostBackendName): KernelConfig[] => [
  {
    kernelName: ElementwiseAttentionForward,
    backendName,
    kernelFunc: kernelFuncFor(backendName, ElementwiseAttentionForward, forward),
  },
  {
    kernelName: ElementwiseAttentionBackward,
    backendName,
    kernelFunc: kernelFuncFor(backendName, ElementwiseAttentionBackward, backward),
  },
  {
    kernelName: ElementwiseAttentionStep,
    backendName,
    kernelFunc: kernelFuncFor(backendName, ElementwiseAttentionStep, step),
  },
];

/**
 * Every kernel this package provides: forward, backward and step for the tfjs `cpu`, `wasm`
 * and `tensorflow` (tfjs-node) backends.
 */
export const kernelConfigs: readonly KernelConfig[] = [
  ...configs('cpu'),
  ...configs('wasm'),
  ...configs('tensorflow'),
];
