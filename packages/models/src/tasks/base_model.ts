import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/types.js';
import type { ForwardContext } from '../layers/context.js';
import { describeValue } from '../options.js';
import { ParameterStore } from '../parameters.js';
import { SeededRandom } from '../random.js';
import type { Batch, MetricSums } from './batch.js';

/** What every task model shares: config, named variables, weights access, training hooks. */
export abstract class BaseModel<C extends ModelConfig = ModelConfig> {
  readonly config: C;
  protected readonly store: ParameterStore;
  private disposed = false;

  protected constructor(config: C, seed: number) {
    this.config = config;
    this.store = new ParameterStore(new SeededRandom(seed));
  }

  get task(): C['task'] {
    return this.config.task;
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    return this.store.count();
  }

  /**
   * The model's variables by stable name (`block_0/attention/query/kernel`, …). They are the
   * model's own: read them, do not dispose them.
   */
  getWeights(): tf.NamedTensorMap {
    this.assertAlive();
    return Object.fromEntries(this.store.entries());
  }

  /**
   * Assigns every variable from a map with exactly the names, shapes and dtypes of
   * `getWeights()`; nothing is assigned unless all of them match.
   */
  setWeights(weights: tf.NamedTensorMap): void {
    this.assertAlive();
    const where = `${this.constructor.name}.setWeights`;
    if (weights === null || typeof weights !== 'object' || Array.isArray(weights)) {
      throw new Error(
        `${where}: weights must be an object of tensors by name, got ${describeValue(weights)}`,
      );
    }
    const expected = this.store.names();
    const missing = expected.filter((name) => !(name in weights));
    const unexpected = Object.keys(weights).filter((name) => !expected.includes(name));
    if (missing.length > 0) throw new Error(`${where}: missing weights: ${missing.join(', ')}`);
    if (unexpected.length > 0) {
      throw new Error(`${where}: unexpected weights: ${unexpected.join(', ')}`);
    }
    for (const [name, variable] of this.store.entries()) {
      const value = weights[name];
      if (!(value instanceof tf.Tensor) || value.isDisposed) {
        const got = value instanceof tf.Tensor ? 'a disposed tensor' : describeValue(value);
        throw new Error(`${where}: weight ${name} must be a tf.Tensor, got ${got}`);
      }
      if (value.dtype !== 'float32') {
        throw new Error(`${where}: weight ${name} must have dtype float32, got ${value.dtype}`);
      }
      if (!tf.util.arraysEqual(value.shape, variable.shape)) {
        throw new Error(
          `${where}: weight ${name} must have shape [${variable.shape.join(', ')}], got [${value.shape.join(', ')}]`,
        );
      }
    }
    // A NaN or infinite weight makes every output NaN; refused here with its name, once all
    // shapes are known to fit (reading the values back costs a copy, setWeights is rare).
    for (const name of expected) {
      const values = weights[name].dataSync();
      const bad = values.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) {
        throw new Error(
          `${where}: weight ${name} must be finite, got ${values[bad]} at flat index ${bad}`,
        );
      }
    }
    for (const [name, variable] of this.store.entries()) variable.assign(weights[name]);
  }

  /** The variables with whether AdamW's decoupled weight decay applies to each. */
  trainableVariables(): Array<{ name: string; variable: tf.Variable; decay: boolean }> {
    this.assertAlive();
    return this.store
      .entries()
      .map(([name, variable]) => ({ name, variable, decay: this.store.decays(name) }));
  }

  /** Mean loss of a batch (a scalar), differentiable with respect to the variables. */
  abstract loss(batch: Batch, context: ForwardContext): tf.Scalar;

  /** Summed losses and metric numerators of a batch, without dropout. */
  abstract metricSums(batch: Batch): Promise<MetricSums>;

  /** Releases the variables. The model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.store.dispose();
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * For a task's constructor whose layers failed to build (out of memory, say): frees the
   * variables created so far, which nothing could reach once the constructor throws.
   */
  protected abandon(error: unknown): never {
    this.dispose();
    throw error;
  }

  protected assertAlive(): void {
    if (this.disposed) throw new Error(`${this.constructor.name}: the model has been disposed`);
  }
}

/**
 * Refuses what is not a live model of this package before `train` or `evaluate` does any work
 * with it (a plain object or a disposed model would fail later with a TypeError).
 */
export function assertModel(where: string, model: unknown): void {
  if (!(model instanceof BaseModel)) {
    throw new Error(
      `${where}: model must be a model from createModel, loadModel or fromPretrained, got ${describeValue(model)}`,
    );
  }
  if (model.isDisposed) throw new Error(`${where}: the model has been disposed`);
}
