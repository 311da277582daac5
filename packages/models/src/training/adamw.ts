import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkOptions, describeValue } from '../options.js';

export interface AdamWConfig {
  /** Step size; a schedule may set `optimizer.learningRate` before each step. */
  learningRate: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  epsilon?: number;
  /** Decoupled weight decay λ (Loshchilov & Hutter). Default 0. */
  weightDecay?: number;
  /**
   * Which variables decay, by name. Default: every variable of rank 2 or more (matrices), the
   * usual choice that spares biases and norm gains. Not part of `getConfig()`.
   */
  decays?: (variableName: string, variable: tf.Variable) => boolean;
}

/** tfjs-core's `NamedTensor`, which its entry point does not export. */
type NamedTensor = { name: string; tensor: tf.Tensor };

const CONFIG_NAMES = ['learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay', 'decays'];
const WHERE = 'AdamW';

/**
 * Adam with decoupled weight decay, as a tfjs optimizer (`model.compile({optimizer})`,
 * `optimizer.minimize(f)`, `applyGradients`, `getWeights`/`setWeights`):
 *
 *     m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
 *     θ ← θ − lr · ( m̂ / (√v̂ + ε) + λθ )   (λθ only where `decays` says so)
 *
 * Moments are kept per variable name, so the set of variables may change between calls (a
 * variable without a gradient is left as it is). `learningRate` is writable, so any schedule can
 * drive it (`train` sets it every step).
 */
export class AdamW extends tf.Optimizer {
  static className = 'AdamW';
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly decays: (variableName: string, variable: tf.Variable) => boolean;
  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();

  constructor(config: AdamWConfig) {
    super();
    const options = checkOptions<AdamWConfig>(WHERE, config, CONFIG_NAMES, 'config');
    const inRange = (
      name: keyof AdamWConfig,
      fallback: number,
      ok: (x: number) => boolean,
      what: string,
    ) => checkNumber(WHERE, `config.${name}`, options[name] ?? fallback, ok, what);
    const fraction = (x: number) => x >= 0 && x < 1;
    this.learningRate = checkNumber(
      WHERE,
      'config.learningRate',
      options.learningRate,
      (x) => x >= 0 && Number.isFinite(x),
      'a finite number >= 0',
    );
    this.beta1 = inRange('beta1', 0.9, fraction, 'a number in [0, 1)');
    this.beta2 = inRange('beta2', 0.999, fraction, 'a number in [0, 1)');
    this.epsilon = inRange(
      'epsilon',
      1e-8,
      (x) => x > 0 && Number.isFinite(x),
      'a finite number > 0',
    );
    this.weightDecay = inRange(
      'weightDecay',
      0,
      (x) => x >= 0 && Number.isFinite(x),
      'a finite number >= 0',
    );
    if (options.decays !== undefined && typeof options.decays !== 'function') {
      throw new Error(
        `${WHERE}: config.decays must be a function of the variable name, got ${describeValue(options.decays)}`,
      );
    }
    this.decays = options.decays ?? ((_name, variable) => variable.rank >= 2);
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const gradients: tf.NamedTensorMap = Array.isArray(variableGradients)
      ? Object.fromEntries(variableGradients.map(({ name, tensor }) => [name, tensor]))
      : variableGradients;
    this.incrementIterations();
    const correction1 = 1 - this.beta1 ** this.iterations;
    const correction2 = 1 - this.beta2 ** this.iterations;
    tf.tidy(() => {
      for (const [name, gradient] of Object.entries(gradients)) {
        if (gradient == null) continue;
        const variable = tf.engine().registeredVariables[name];
        if (variable == null) {
          throw new Error(`${WHERE}.applyGradients: no tfjs variable is named '${name}'`);
        }
        const { m, v } = this.momentsOf(name, variable);
        const nextM = tf.add(tf.mul(m, this.beta1), tf.mul(gradient, 1 - this.beta1));
        const nextV = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(gradient), 1 - this.beta2));
        m.assign(nextM);
        v.assign(nextV);
        let update = tf.div(
          tf.div(nextM, correction1),
          tf.add(tf.sqrt(tf.div(nextV, correction2)), this.epsilon),
        );
        if (this.weightDecay > 0 && this.decays(name, variable)) {
          update = tf.add(update, tf.mul(variable, this.weightDecay));
        }
        variable.assign(tf.sub(variable, tf.mul(update, this.learningRate)));
      }
    });
  }

  private momentsOf(name: string, variable: tf.Variable): { m: tf.Variable; v: tf.Variable } {
    let moments = this.moments.get(name);
    if (moments === undefined) {
      moments = tf.tidy(() => ({
        m: tf.variable(tf.zerosLike(variable), false),
        v: tf.variable(tf.zerosLike(variable), false),
      }));
      this.moments.set(name, moments);
    }
    return moments;
  }

  override dispose(): void {
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
    this.moments.clear();
  }

  /** The iteration count, then `<name>/m` and `<name>/v` of every variable stepped so far. */
  override async getWeights(): Promise<NamedTensor[]> {
    const moments = [...this.moments].flatMap(([name, { m, v }]) => [
      { name: `${name}/m`, tensor: m },
      { name: `${name}/v`, tensor: v },
    ]);
    return [await this.saveIterations(), ...moments];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    const byName = new Map(rest.map(({ name, tensor }) => [name, tensor]));
    for (const { name } of rest) {
      const match = /^(.*)\/[mv]$/.exec(name);
      const variable = match ? tf.engine().registeredVariables[match[1]] : undefined;
      const m = match ? byName.get(`${match[1]}/m`) : undefined;
      const v = match ? byName.get(`${match[1]}/v`) : undefined;
      if (!match || !variable || !m || !v) {
        throw new Error(
          `${WHERE}.setWeights: expected '<variable name>/m' and '/v' pairs of existing variables, got '${name}'`,
        );
      }
      const moments = this.momentsOf(match[1], variable);
      moments.m.assign(m);
      moments.v.assign(v);
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      weightDecay: this.weightDecay,
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config as unknown as AdamWConfig);
  }
}

tf.serialization.registerClass(AdamW);
