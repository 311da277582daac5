import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describeValue, fail } from './errors.js';

/**
 * Checks of the configs the layers are built from. JavaScript callers and model.json files get
 * no type checking, so `{causal: 'yes'}` or the typo `{casual: true}` would otherwise build a
 * layer that looks right and attends to the future.
 */

/** tfjs's `LayerArgs` (name, trainable, inputShape, …), taken from the public `Layer` class. */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;
/** tfjs's `Initializer`, as the public factories return it. */
export type Initializer = ReturnType<typeof tfl.initializers.ones>;
/** The keyword arguments tfjs passes to `Layer.call` (`mask`, `training`, …). */
export type Kwargs = Parameters<tfl.layers.Layer['call']>[1];

/**
 * An initializer: an instance (`tf.initializers.glorotUniform({seed: 1})`), the name of a
 * factory of `tf.initializers` that needs no arguments (`'glorotUniform'`, `'zeros'`, …), or
 * its serialized form `{className, config}` as `getConfig()` writes it.
 */
export type InitializerIdentifier =
  | Initializer
  | string
  | { className: string; config: tf.serialization.ConfigDict };

/** The arguments every tfjs layer accepts, handled by `tf.layers.Layer`'s constructor. */
export const LAYER_ARG_NAMES = [
  'name',
  'trainable',
  'inputShape',
  'batchInputShape',
  'batchSize',
  'dtype',
  'weights',
  'inputDType',
] as const;

/**
 * Returns the config as an object (`{}` when omitted), refusing anything else and names that
 * are neither the layer's own nor tfjs's `LayerArgs`. `LayerArgs` values are checked by tfjs.
 */
export function checkConfig<T extends object>(
  where: string,
  config: unknown,
  own: readonly string[],
): T {
  const checked = objectOfKnownKeys(where, config, [...own, ...LAYER_ARG_NAMES], {
    argument: 'config',
    key: 'config key',
  });
  if (
    'name' in checked &&
    checked.name !== undefined &&
    (typeof checked.name !== 'string' || checked.name === '')
  ) {
    fail(where, `config.name must be a non-empty string, got ${describeValue(checked.name)}`);
  }
  return checked as T;
}

export function booleanField(where: string, name: string, value: unknown, fallback: boolean) {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') {
    fail(where, `config.${name} must be a boolean, got ${describeValue(value)}`);
  }
  return value;
}

export function positiveIntegerField(
  where: string,
  name: string,
  value: unknown,
  fallback?: number,
): number {
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    fail(where, `config.${name} must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

/** Checks a method's options object: an object (or omitted) with only the known keys. */
export function checkOptions<T extends object>(
  where: string,
  options: T | undefined,
  known: readonly string[],
): T {
  return objectOfKnownKeys(where, options, known, { argument: 'options', key: 'option' }) as T;
}

/**
 * The one check behind {@link checkConfig} and {@link checkOptions}: `value` as an object (`{}`
 * when omitted) whose keys are all in `known`; `words` name the argument and its keys in the
 * messages.
 */
function objectOfKnownKeys(
  where: string,
  value: unknown,
  known: readonly string[],
  words: { argument: string; key: string },
): object {
  if (value === undefined) return {};
  if (
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    value instanceof tf.Tensor
  ) {
    fail(
      where,
      `${words.argument} must be an object with any of ${known.join(', ')}, got ${describeValue(value)}`,
    );
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      fail(where, `unknown ${words.key} '${key}'; expected one of ${known.join(', ')}`);
    }
  }
  return value;
}

/** Names of the `tf.initializers` factories that can be called with no settings. */
const NAMED_INITIALIZERS = [
  'zeros',
  'ones',
  'glorotUniform',
  'glorotNormal',
  'heUniform',
  'heNormal',
  'leCunUniform',
  'leCunNormal',
  'randomUniform',
  'randomNormal',
  'truncatedNormal',
  'orthogonal',
  'identity',
  'varianceScaling',
] as const;

function isInitializer(value: unknown): value is Initializer {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Initializer).apply === 'function' &&
    typeof (value as Initializer).getClassName === 'function' &&
    typeof (value as Initializer).getConfig === 'function'
  );
}

/** Resolves an {@link InitializerIdentifier} (or `fallback` when absent) to an initializer. */
export function initializerField(
  where: string,
  name: string,
  value: unknown,
  fallback: (typeof NAMED_INITIALIZERS)[number],
): Initializer {
  const expected = `an initializer (e.g. tf.initializers.glorotUniform({seed: 1})), one of ${NAMED_INITIALIZERS.map((n) => `'${n}'`).join(', ')}, or {className, config}`;
  if (value === undefined || value === null) value = fallback;
  if (typeof value === 'string') {
    if (!(NAMED_INITIALIZERS as readonly string[]).includes(value)) {
      fail(where, `config.${name} must be ${expected}, got ${describeValue(value)}`);
    }
    const factory = tfl.initializers[value as (typeof NAMED_INITIALIZERS)[number]] as (
      args: object,
    ) => Initializer;
    return factory({});
  }
  if (isInitializer(value)) return value;
  if (value !== null && typeof value === 'object' && 'className' in value) {
    const { className, config } = value as { className: unknown; config: unknown };
    const entry =
      typeof className === 'string'
        ? tf.serialization.SerializationMap.getMap().classNameMap[className]
        : undefined;
    if (entry === undefined || typeof entry[0].prototype?.apply !== 'function') {
      fail(
        where,
        `config.${name}.className must name a registered tfjs initializer class, got ${describeValue(className)}`,
      );
    }
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      fail(where, `config.${name}.config must be an object, got ${describeValue(config)}`);
    }
    const [cls, fromConfig] = entry;
    const initializer = fromConfig(cls, config as tf.serialization.ConfigDict);
    if (!isInitializer(initializer)) {
      fail(where, `config.${name}.className ${className} does not make an initializer`);
    }
    return initializer;
  }
  return fail(where, `config.${name} must be ${expected}, got ${describeValue(value)}`);
}

/**
 * The initializers of a layer's kernels (default `'glorotUniform'`) and biases (default
 * `'zeros'`), from its config's `kernelInitializer` and `biasInitializer`.
 */
export function kernelAndBiasInitializers(
  where: string,
  config: { kernelInitializer?: unknown; biasInitializer?: unknown },
): { kernelInitializer: Initializer; biasInitializer: Initializer } {
  return {
    kernelInitializer: initializerField(
      where,
      'kernelInitializer',
      config.kernelInitializer,
      'glorotUniform',
    ),
    biasInitializer: initializerField(where, 'biasInitializer', config.biasInitializer, 'zeros'),
  };
}

/** The config entries {@link kernelAndBiasInitializers} reads back. */
export function serializeKernelAndBiasInitializers(
  kernelInitializer: Initializer,
  biasInitializer: Initializer,
): tf.serialization.ConfigDict {
  return {
    kernelInitializer: serializeInitializer(kernelInitializer),
    biasInitializer: serializeInitializer(biasInitializer),
  };
}

/** The `{className, config}` form that {@link initializerField} reads back. */
export function serializeInitializer(initializer: Initializer): tf.serialization.ConfigDict {
  return { className: initializer.getClassName(), config: initializer.getConfig() };
}

/** The one input of a single-input layer (tfjs passes `[x]` from models, `x` from `apply`). */
export function singleInput<T>(where: string, inputs: T | T[]): T {
  if (!Array.isArray(inputs)) return inputs;
  if (inputs.length !== 1) fail(where, `expects one input tensor, got ${inputs.length}`);
  return inputs[0];
}

/** The mask tfjs passes in `kwargs.mask` (a tensor, or `[tensor]`), or null. */
export function maskFromKwargs(kwargs: Kwargs | undefined): tf.Tensor | null {
  const mask = kwargs?.['mask'] as tf.Tensor | tf.Tensor[] | null | undefined;
  if (mask == null) return null;
  return Array.isArray(mask) ? (mask[0] ?? null) : mask;
}
