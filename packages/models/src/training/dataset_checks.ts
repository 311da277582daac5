import { checkOptions, describeValue } from '../options.js';

/**
 * Checks of the data `train` and `evaluate` receive, run once where a dataset enters and before
 * any work starts. Without them a NaN in the data surfaces steps later as a NaN loss (blamed on
 * the learning rate), a fractional label is truncated, and a text of characters outside the
 * vocabulary trains on nothing but the unknown id. Every message names the dataset field and
 * the first bad index; `where` says which dataset (`train (data.validation)`).
 */

/** The dataset as an object holding only `fields`. */
export function checkDatasetFields(where: string, dataset: object, fields: readonly string[]) {
  checkOptions(where, dataset, fields, 'dataset', 'field');
}

/** `value` is a `type` array, as `what` says; `hint` follows the value in the message. */
function checkArrayType<T>(
  where: string,
  field: string,
  value: unknown,
  type: abstract new (...args: never[]) => T,
  what: string,
  hint = '',
): asserts value is T {
  if (!(value instanceof type)) {
    throw new Error(
      `${where}: dataset.${field} must be ${what}, got ${describeValue(value)}${hint}`,
    );
  }
}

/** A Float32Array of finite values. `describeIndex` adds where a flat index lies (step, channel). */
export function checkFiniteValues(
  where: string,
  field: string,
  values: unknown,
  describeIndex: (index: number) => string = () => '',
): asserts values is Float32Array {
  checkArrayType(
    where,
    field,
    values,
    Float32Array,
    'a Float32Array',
    ' (Float32Array.from(values) converts an array)',
  );
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new Error(
        `${where}: dataset.${field} must hold finite numbers, got ${values[i]} at index ${i}${describeIndex(i)}`,
      );
    }
  }
}

/** Class labels: an Int32Array or array of integers in [0, numClasses). */
export function checkLabels(
  where: string,
  labels: unknown,
  numClasses: number,
): asserts labels is ArrayLike<number> {
  if (!(labels instanceof Int32Array) && !Array.isArray(labels)) {
    throw new Error(
      `${where}: dataset.labels must be an Int32Array of class indices, got ${describeValue(labels)}`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new Error(
        `${where}: dataset.labels must be integers in [0, numClasses = ${numClasses}), got ${describeValue(label)} at index ${i}`,
      );
    }
  }
}

/** An integer field in [min, max]; `range` is how the message states them. */
export function checkIntegerField(
  where: string,
  field: string,
  value: unknown,
  min: number,
  max: number,
  range: string,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(
      `${where}: dataset.${field} must be an integer in ${range}, got ${describeValue(value)}`,
    );
  }
}

/** Token ids: an Int32Array of ids in [0, vocabularySize). */
export function checkTokenIds(
  where: string,
  field: string,
  ids: unknown,
  vocabularySize: number,
): asserts ids is Int32Array {
  checkArrayType(
    where,
    field,
    ids,
    Int32Array,
    'an Int32Array of token ids (model.encode(text) gives them)',
  );
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= vocabularySize) {
      throw new Error(
        `${where}: dataset.${field} must hold ids in [0, vocabularySize = ${vocabularySize}), got ${ids[i]} at index ${i}`,
      );
    }
  }
}

/** Per-position loss weights: a Float32Array of `size` finite values >= 0, not all 0. */
export function checkWeights(
  where: string,
  weights: unknown,
  size: number,
  length: number,
): asserts weights is Float32Array {
  checkArrayType(where, 'weights', weights, Float32Array, 'a Float32Array of per-position weights');
  if (weights.length !== size) {
    throw new Error(
      `${where}: dataset.weights must hold one weight per input id (${size}), got ${weights.length}`,
    );
  }
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    if (!(weights[i] >= 0) || !Number.isFinite(weights[i])) {
      throw new Error(
        `${where}: dataset.weights must be finite numbers >= 0, got ${weights[i]} at index ${i} (sequence ${Math.floor(i / length)}, position ${i % length})`,
      );
    }
    total += weights[i];
  }
  if (total === 0) {
    throw new Error(
      `${where}: dataset.weights are all 0, so no position would be learned or scored`,
    );
  }
}
