import { checkNumber, checkOptions, describeValue } from './options.js';
import { randomSeed, SeededRandom } from './random.js';

/** Whether a forward pass trains (dropout on, seeded by `random`) or infers (dropout off). */
export interface ForwardContext {
  training: boolean;
  random?: SeededRandom;
  /** Recompute the blocks' activations in the backward pass (training only). */
  recompute?: boolean;
}

export const INFERENCE: ForwardContext = { training: false };

/**
 * How a public forward pass (`logits`, `normalizedForecast`) runs: inference by default, or as
 * in training, with dropout on, e.g. for a custom training loop or Monte-Carlo dropout.
 */
export interface ForwardOptions {
  /** Dropout on. Default false. */
  training?: boolean;
  /** Seeds a training pass's dropout masks: the same seed gives the same masks. Default: random. */
  seed?: number;
}

/**
 * The context of a forward pass from what a caller passed: the public {@link ForwardOptions},
 * or the context the package's own training loop builds (passed through as it is).
 */
export function forwardContext(
  where: string,
  options: ForwardOptions | ForwardContext | undefined,
): ForwardContext {
  if (options === undefined) return INFERENCE;
  if ('random' in options && options.random instanceof SeededRandom) {
    return options as ForwardContext;
  }
  const { training, seed } = checkOptions<ForwardOptions>(where, options, ['training', 'seed']);
  if (training !== undefined && typeof training !== 'boolean') {
    throw new Error(
      `${where}: options.training must be true or false, got ${describeValue(training)}`,
    );
  }
  if (seed !== undefined) {
    checkNumber(where, 'options.seed', seed, Number.isFinite, 'a finite number');
  }
  if (!training) return INFERENCE;
  return { training: true, random: new SeededRandom(seed ?? randomSeed()) };
}

/**
 * The keyword arguments of a network call in this context: `training`, and a seed for the
 * layers' dropout masks drawn from the context's generator.
 */
export function callArguments(context: ForwardContext): {
  training: boolean;
  seed?: number;
  recompute?: boolean;
} {
  if (!context.training) return { training: false };
  const seed = (context.random ?? new SeededRandom(randomSeed())).nextUint32();
  return { training: true, seed, ...(context.recompute ? { recompute: true } : {}) };
}
