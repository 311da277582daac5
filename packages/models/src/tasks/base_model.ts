import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/types.js';
import type { ForwardContext } from '../layers/context.js';
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
    const expected = this.store.names();
    const missing = expected.filter((name) => !(name in weights));
    const unexpected = Object.keys(weights).filter((name) => !expected.includes(name));
    if (missing.length > 0) throw new Error(`${where}: missing weights: ${missing.join(', ')}`);
    if (unexpected.length > 0) {
      throw new Error(`${where}: unexpected weights: ${unexpected.join(', ')}`);
    }
    for (const [name, variable] of this.store.entries()) {
      const value = weights[name];
      if (value.dtype !== 'float32') {
        throw new Error(`${where}: weight ${name} must have dtype float32, got ${value.dtype}`);
      }
      if (!tf.util.arraysEqual(value.shape, variable.shape)) {
        throw new Error(
          `${where}: weight ${name} must have shape [${variable.shape.join(', ')}], got [${value.shape.join(', ')}]`,
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

  protected assertAlive(): void {
    if (this.disposed) throw new Error(`${this.constructor.name}: the model has been disposed`);
  }
}
