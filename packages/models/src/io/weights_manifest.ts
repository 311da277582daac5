import type * as tf from '@tensorflow/tfjs-core';
import { describeValue } from '../describe_value.js';
import { MAX_MODEL_JSON_BYTES, MAX_WEIGHT_BYTES } from './limits.js';
import { weightPathProblem } from './weight_paths.js';

/**
 * Type and size checks on an untrusted `model.json` and its weight specs, done before any weight
 * byte is read or allocated: every later step (reading files, fetching, decoding) relies on the
 * byte counts computed here.
 */

/** Throws an Error whose message starts with where the model came from. */
export type Fail = (message: string) => never;

/** Bytes per stored element, by dtype; `string` weights have no size known in advance. */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
/** Bytes per stored element of quantized weights, by quantization dtype. */
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/** One group of a weights manifest: its files hold its weights' bytes, in order. */
export interface WeightGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
  /** The bytes its specs declare, which its files must hold exactly. */
  bytes: number;
}

export interface CheckedModelJSON {
  modelJSON: tf.io.ModelJSON;
  groups: WeightGroup[];
  /** All groups' specs, in order. */
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** The bytes all groups declare. */
  bytes: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function shapeText(shape: unknown[]): string {
  const shown = shape
    .slice(0, 8)
    .map((d) => (typeof d === 'number' ? String(d) : describeValue(d)));
  return `[${shown.join(', ')}${shape.length > 8 ? ', …' : ''}]`;
}

/**
 * Checks weight specs (`name`, `shape` of integers >= 0, a sized dtype, optional quantization)
 * and returns their total byte size, refusing more than {@link MAX_WEIGHT_BYTES}.
 */
export function checkWeightSpecs(
  specs: unknown,
  label: string,
  fail: Fail,
): { specs: tf.io.WeightsManifestEntry[]; bytes: number } {
  if (!Array.isArray(specs))
    fail(`${label} must be an array of weight specs, got ${describeValue(specs)}`);
  let total = 0;
  (specs as unknown[]).forEach((spec, i) => {
    total += weightSpecBytes(spec, `${label}[${i}]`, fail);
    if (total > MAX_WEIGHT_BYTES) {
      fail(
        `${label} declare more than ${MAX_WEIGHT_BYTES} bytes of weights (the limit, 2 GiB) by ${label}[${i}]`,
      );
    }
  });
  return { specs: specs as tf.io.WeightsManifestEntry[], bytes: total };
}

/** The bytes one spec declares, after checking its fields. */
function weightSpecBytes(spec: unknown, label: string, fail: Fail): number {
  if (!isObject(spec))
    fail(`${label} must be an object {name, shape, dtype}, got ${describeValue(spec)}`);
  const { name, shape, dtype, quantization } = spec as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') {
    fail(`${label}.name must be a non-empty string, got ${describeValue(name)}`);
  }
  const which = `${label}.shape (weight ${name})`;
  if (!Array.isArray(shape))
    fail(`${which} must be an array of integers >= 0, got ${describeValue(shape)}`);
  let elements = 1;
  for (const size of shape as unknown[]) {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      fail(`${which} must hold integers >= 0, got ${shapeText(shape as unknown[])}`);
    }
    elements *= size as number;
    // Every element takes at least a byte, so this bounds the bytes and keeps the product exact.
    if (elements > MAX_WEIGHT_BYTES) {
      fail(
        `${which} declares more elements than the ${MAX_WEIGHT_BYTES}-byte limit allows, got ${shapeText(shape as unknown[])}`,
      );
    }
  }
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    fail(
      `${label}.dtype (weight ${name}) must be one of ${Object.keys(DTYPE_BYTES).join(', ')}, got ${describeValue(dtype)}`,
    );
  }
  let bytesPerElement = DTYPE_BYTES[dtype as string];
  if (quantization != null) {
    const quantized = isObject(quantization) ? quantization.dtype : undefined;
    if (typeof quantized !== 'string' || !Object.hasOwn(QUANTIZED_BYTES, quantized)) {
      fail(
        `${label}.quantization.dtype (weight ${name}) must be one of ${Object.keys(QUANTIZED_BYTES).join(', ')}, got ${describeValue(quantized)}`,
      );
    }
    bytesPerElement = QUANTIZED_BYTES[quantized as string];
  }
  return elements * bytesPerElement;
}

/**
 * Checks a parsed `model.json`: an object whose `weightsManifest` is an array of groups
 * `{paths, weights}`, every path acceptable to {@link weightPathProblem} and every spec sized.
 */
export function checkModelJSON(value: unknown, fail: Fail): CheckedModelJSON {
  if (!isObject(value)) fail(`model.json must hold a JSON object, got ${describeValue(value)}`);
  const json = value as Record<string, unknown>;
  for (const field of ['modelTopology', 'userDefinedMetadata'] as const) {
    if (json[field] != null && !isObject(json[field])) {
      fail(`${field} must be an object, got ${describeValue(json[field])}`);
    }
  }
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) {
    fail(`weightsManifest must be an array of {paths, weights}, got ${describeValue(manifest)}`);
  }
  const groups: WeightGroup[] = [];
  let bytes = 0;
  (manifest as unknown[]).forEach((group, g) => {
    const label = `weightsManifest[${g}]`;
    if (!isObject(group))
      fail(`${label} must be an object {paths, weights}, got ${describeValue(group)}`);
    const { paths, weights } = group as Record<string, unknown>;
    if (!Array.isArray(paths))
      fail(`${label}.paths must be an array of file names, got ${describeValue(paths)}`);
    (paths as unknown[]).forEach((path, p) => {
      const problem = weightPathProblem(path);
      if (problem !== undefined) fail(`${label}.paths[${p}] ${problem}`);
    });
    const checked = checkWeightSpecs(weights, `${label}.weights`, fail);
    bytes += checked.bytes;
    if (bytes > MAX_WEIGHT_BYTES) {
      fail(
        `weightsManifest declares more than ${MAX_WEIGHT_BYTES} bytes of weights (the limit, 2 GiB) by ${label}`,
      );
    }
    groups.push({ paths: paths as string[], weights: checked.specs, bytes: checked.bytes });
  });
  return {
    modelJSON: json as unknown as tf.io.ModelJSON,
    groups,
    weightSpecs: groups.flatMap((group) => group.weights),
    bytes,
  };
}

/** Decodes and checks the bytes of a `model.json`, refusing more than {@link MAX_MODEL_JSON_BYTES}. */
export function parseModelJSON(bytes: Uint8Array, fail: Fail): CheckedModelJSON {
  if (bytes.byteLength > MAX_MODEL_JSON_BYTES) {
    fail(
      `model.json must be at most ${MAX_MODEL_JSON_BYTES} bytes (16 MiB), got ${bytes.byteLength} or more`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    fail(`model.json is not valid JSON: ${(error as Error).message}`);
  }
  return checkModelJSON(value, fail);
}

/** Artifacts tfjs decodes from the checked JSON and the weight bytes read for it. */
export function toArtifacts(
  checked: CheckedModelJSON,
  weightData: ArrayBuffer,
): tf.io.ModelArtifacts {
  const { modelJSON } = checked;
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: modelJSON.modelTopology,
    format: modelJSON.format,
    generatedBy: modelJSON.generatedBy,
    convertedBy: modelJSON.convertedBy,
    weightSpecs: checked.weightSpecs,
    weightData,
  };
  if (modelJSON.userDefinedMetadata) artifacts.userDefinedMetadata = modelJSON.userDefinedMetadata;
  return artifacts;
}
