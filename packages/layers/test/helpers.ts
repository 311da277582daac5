import { randomNormal as normalValues } from '@elementwise/conformance';
import { relativeRmsError } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, expect } from 'vitest';
import { tokenEmbeddingLayer } from '../src/index.js';

export async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name)
    throw new Error(`tfjs backend '${name}' failed to initialise`);
}

/** Normal samples (the conformance kit's seeded generator) as a float32 tensor. */
export function randomNormal(shape: number[], seed: number, scale = 0.5): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(normalValues(size, seed, scale), shape, 'float32');
}

const ZERO_RMS = 1e-6;

/** Asserts ‖ref − got‖₂ / ‖ref‖₂ <= bound, printing the measured error on failure. */
export function expectClose(
  got: tf.Tensor | ArrayLike<number>,
  reference: ArrayLike<number>,
  bound: number,
  what: string,
): number {
  const values = got instanceof tf.Tensor ? got.dataSync() : got;
  expect(values.length, `${what}: length`).toBe(reference.length);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]))
      throw new Error(`${what}: non-finite value ${values[i]} at ${i}`);
  }
  const referenceRms = Math.sqrt(
    Array.from(reference).reduce((sum, x) => sum + x * x, 0) / Math.max(reference.length, 1),
  );
  if (referenceRms < ZERO_RMS) {
    const gotRms = Math.sqrt(
      Array.from(values).reduce((sum, x) => sum + x * x, 0) / Math.max(values.length, 1),
    );
    expect(gotRms, `${what}: RMS of a result that should be zero`).toBeLessThanOrEqual(ZERO_RMS);
    return gotRms;
  }
  const error = relativeRmsError(reference, values);
  expect(error, `${what}: relative RMS error`).toBeLessThanOrEqual(bound);
  return error;
}

/**
 * Float64 C [m, n] = bias + Σ_k A(i, k)·B(k, j), where A(i, k) = a[i·aStrides[0] + k·aStrides[1]]
 * and B(k, j) = b[k·bStrides[0] + j·bStrides[1]]: strides read either factor transposed in place.
 * Each sum runs over k in order, from the bias or 0.
 */
function product64(
  a: ArrayLike<number>,
  aStrides: [number, number],
  b: ArrayLike<number>,
  bStrides: [number, number],
  [m, inner, n]: [number, number, number],
  bias?: ArrayLike<number> | null,
): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = bias ? bias[j] : 0;
      for (let k = 0; k < inner; k++) {
        sum += a[i * aStrides[0] + k * aStrides[1]] * b[k * bStrides[0] + j * bStrides[1]];
      }
      y[i * n + j] = sum;
    }
  }
  return y;
}

/** Float64 y [rows, out] = x [rows, in] · w [in, out] (+ bias). */
export function matmul64(
  x: ArrayLike<number>,
  rows: number,
  inputs: number,
  w: ArrayLike<number>,
  outputs: number,
  bias?: ArrayLike<number> | null,
): Float64Array {
  return product64(x, [inputs, 1], w, [outputs, 1], [rows, inputs, outputs], bias);
}

/** Float64 xᵀ·g for x [rows, in], g [rows, out]: [in, out]. */
export function matmulTransposedLeft64(
  x: ArrayLike<number>,
  g: ArrayLike<number>,
  rows: number,
  inputs: number,
  outputs: number,
): Float64Array {
  return product64(x, [1, inputs], g, [outputs, 1], [inputs, rows, outputs]);
}

/** Float64 g·wᵀ for g [rows, out], w [in, out]: [rows, in]. */
export function matmulTransposedRight64(
  g: ArrayLike<number>,
  w: ArrayLike<number>,
  rows: number,
  inputs: number,
  outputs: number,
): Float64Array {
  return product64(g, [outputs, 1], w, [1, outputs], [rows, outputs, inputs]);
}

/** Column sums of g [rows, out]: the gradient of a bias. */
export function columnSums64(g: ArrayLike<number>, rows: number, outputs: number): Float64Array {
  const y = new Float64Array(outputs);
  for (let r = 0; r < rows; r++) for (let o = 0; o < outputs; o++) y[o] += g[r * outputs + o];
  return y;
}

export function add64(...parts: ArrayLike<number>[]): Float64Array {
  const y = new Float64Array(parts[0].length);
  for (const part of parts) for (let i = 0; i < y.length; i++) y[i] += part[i];
  return y;
}

/** The projections of the attention layers, in the order they create their weights. */
export const PROJECTIONS = ['query', 'key', 'value', 'output'] as const;

/**
 * A layer's weights by their short names ('query/kernel', …) as float32 values, and the
 * variables themselves (for tf.variableGrads).
 */
export function layerWeights(layer: {
  trainableWeights: { originalName: string; read(): tf.Tensor }[];
}): { values: Record<string, Float32Array>; variables: Record<string, tf.Variable> } {
  const values: Record<string, Float32Array> = {};
  const variables: Record<string, tf.Variable> = {};
  for (const weight of layer.trainableWeights) {
    const short = weight.originalName.split('/').slice(-2).join('/');
    values[short] = weight.read().dataSync() as Float32Array;
    // A LayerVariable reads as the tf.Variable it holds.
    variables[short] = weight.read() as tf.Variable;
  }
  return { values, variables };
}

/**
 * A layer applied to x ~ N(0, scale²) of `shape` (`seed`), with the [B, L] padding mask `mask`
 * when given (as `maskDtype`: tfjs passes masks of either dtype). Also returns a cotangent
 * r ~ N(0, 1) (`seed + 1`) for gradients of Σ y ⊙ r, and the layer's weights once built.
 */
export function applyToRandomInput(
  layer: tfl.layers.Layer,
  shape: number[],
  options: { seed: number; scale: number; mask?: number[][]; maskDtype: 'bool' | 'int32' },
) {
  const x = randomNormal(shape, options.seed, options.scale);
  const r = randomNormal(shape, options.seed + 1, 1);
  const mask = options.mask ? tf.tensor2d(options.mask, undefined, options.maskDtype) : undefined;
  const y = layer.apply(x, mask ? { mask } : {}) as tf.Tensor;
  expect(y.shape).toEqual(shape);
  return { x, r, mask, y, ...layerWeights(layer) };
}

/** Frees the variables each test's layers created, so that no test sees another's weights. */
export function disposeVariablesAfterEachTest(): void {
  afterEach(() => {
    tf.disposeVariables();
  });
}

/** A model's artifacts, saved through `model.save` to memory. */
export async function saveToMemory(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved as tf.io.ModelArtifacts;
}

/** Moves every weight of a built layer away from its initial value, so zeros and ones test nothing by luck. */
export function perturb(layer: tfl.layers.Layer, seed: number): void {
  layer.setWeights(
    layer
      .getWeights()
      .map((w, i) => tf.tidy(() => tf.add(w, randomNormal(w.shape, seed + i, 0.3)))),
  );
}

/**
 * Next-token data for a tiny language model: `count` sequences cycling through tokens 1..4 from
 * different starts, inputs xs [count, length] and targets ys [count, length, 1].
 */
export function cyclingTokens(count: number, length: number): { xs: tf.Tensor2D; ys: tf.Tensor3D } {
  const sequences = Array.from({ length: count }, (_, s) =>
    Array.from({ length: length + 1 }, (_, i) => 1 + ((s + i) % 4)),
  );
  return {
    xs: tf.tensor2d(sequences.map((t) => t.slice(0, length))),
    ys: tf.tensor3d(sequences.map((t) => t.slice(1).map((token) => [token]))),
  };
}

/**
 * A char model on 32 {@link cyclingTokens} of `length` — token embedding (width 16), `middle`,
 * a softmax head — compiled with Adam and fitted for `epochs`; its loss must halve.
 */
export async function fitCharModel(
  length: number,
  middle: tfl.layers.Layer[],
  epochs: number,
): Promise<{ model: tfl.Sequential; xs: tf.Tensor2D; ys: tf.Tensor3D }> {
  const { xs, ys } = cyclingTokens(32, length);
  const model = tfl.sequential({
    layers: [
      tokenEmbeddingLayer({ vocabularySize: 5, outputDim: 16, inputShape: [length] }),
      ...middle,
      tfl.layers.dense({ units: 5, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.02), loss: 'sparseCategoricalCrossentropy' });
  const { history } = await model.fit(xs, ys, { epochs, batchSize: 16, verbose: 0 });
  const losses = history.loss as number[];
  expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 2);
  return { model, xs, ys };
}
