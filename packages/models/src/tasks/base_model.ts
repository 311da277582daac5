import type { TransformerBlock } from '@elementwise/layers';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ModelConfig } from '../config/types.js';
import type { ForwardContext } from '../forward_context.js';
import { buildNetwork } from '../network/build_network.js';
import { decays, initializeWeights } from '../network/initialize.js';
import { describeValue } from '../options.js';
import type { Batch, MetricSums } from './batch.js';

/**
 * What every task model shares: its config, the `tf.LayersModel` that computes it (`network`),
 * weights access by stable name, training hooks.
 */
export abstract class BaseModel<C extends ModelConfig = ModelConfig> {
  readonly config: C;
  /**
   * The model as a tfjs `LayersModel` of `@elementwise/layers` layers: `summary()`, `save`,
   * sub-models of its layers' outputs, `predict` on the task's inputs. It is the model's own:
   * use it, do not dispose it.
   */
  readonly network: tfl.LayersModel;
  private readonly weightsByName: Map<string, tfl.LayerVariable>;
  private blockInputsModel: tfl.LayersModel | null = null;
  private disposed = false;

  protected constructor(config: C, seed: number) {
    this.config = config;
    this.network = buildReleasingOnFailure(config);
    try {
      initializeWeights(this.network, seed);
    } catch (error) {
      this.network.dispose();
      throw error;
    }
    this.weightsByName = new Map(this.network.weights.map((w) => [w.originalName, w]));
  }

  get task(): C['task'] {
    return this.config.task;
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    return this.network.countParams();
  }

  /**
   * The model's variables by stable name (`block_0/query/kernel`, …). They are the
   * model's own: read them, do not dispose them.
   */
  getWeights(): tf.NamedTensorMap {
    this.assertAlive();
    return Object.fromEntries(this.entries().map(([name, weight]) => [name, weight.read()]));
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
    const expected = [...this.weightsByName.keys()];
    const missing = expected.filter((name) => !(name in weights));
    const unexpected = Object.keys(weights).filter((name) => !expected.includes(name));
    if (missing.length > 0) throw new Error(`${where}: missing weights: ${missing.join(', ')}`);
    if (unexpected.length > 0) {
      throw new Error(`${where}: unexpected weights: ${unexpected.join(', ')}`);
    }
    for (const [name, variable] of this.entries()) {
      const value = weights[name];
      if (!(value instanceof tf.Tensor) || value.isDisposed) {
        const got = value instanceof tf.Tensor ? 'a disposed tensor' : describeValue(value);
        throw new Error(`${where}: weight ${name} must be a tf.Tensor, got ${got}`);
      }
      if (value.dtype !== 'float32') {
        throw new Error(`${where}: weight ${name} must have dtype float32, got ${value.dtype}`);
      }
      if (!tf.util.arraysEqual(value.shape, variable.shape as number[])) {
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
    for (const [name, variable] of this.entries()) variable.write(weights[name]);
  }

  /** The variables with whether AdamW's decoupled weight decay applies to each. */
  trainableVariables(): Array<{ name: string; variable: tf.Variable; decay: boolean }> {
    this.assertAlive();
    return this.entries().map(([name, weight]) => ({
      name,
      variable: weight.read() as tf.Variable,
      decay: decays(name),
    }));
  }

  /** The network's blocks, `block_0` first. */
  get blocks(): TransformerBlock[] {
    return Array.from(
      { length: this.config.numLayers },
      (_, i) => this.network.getLayer(`block_${i}`) as unknown as TransformerBlock,
    );
  }

  /**
   * Each block's input [B, L, dModel] for a batch, without dropout: the activations an analysis
   * reads, from a sub-model of `network` that shares its layers. Dispose them.
   */
  blockInputs(batch: Batch): tf.Tensor3D[] {
    this.assertAlive();
    this.blockInputsModel ??= tfl.model({
      inputs: this.network.inputs,
      outputs: this.blocks.map((block) => block.input as tfl.SymbolicTensor),
    });
    const model = this.blockInputsModel;
    return tf.tidy(() => {
      const outputs = model.predict(this.networkInputs(batch.inputs, batch.times));
      return (Array.isArray(outputs) ? outputs : [outputs]) as tf.Tensor3D[];
    });
  }

  /** What `network` takes for a task's inputs (normalised where the task normalises them). */
  protected abstract networkInputs(inputs: tf.Tensor, times?: tf.Tensor2D): tf.Tensor | tf.Tensor[];

  /** Mean loss of a batch (a scalar), differentiable with respect to the variables. */
  abstract loss(batch: Batch, context: ForwardContext): tf.Scalar;

  /** Summed losses and metric numerators of a batch, without dropout. */
  abstract metricSums(batch: Batch): Promise<MetricSums>;

  /** Releases the variables. The model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.network.dispose();
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private entries(): Array<[string, tfl.LayerVariable]> {
    return [...this.weightsByName.entries()];
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

/**
 * {@link buildNetwork}, freeing the variables its layers created before it failed (out of
 * memory, say): nothing could reach them once the constructor throws.
 */
function buildReleasingOnFailure(config: ModelConfig): tfl.LayersModel {
  const variables = () => tf.engine().registeredVariables;
  const before = new Set(Object.keys(variables()));
  try {
    return buildNetwork(config);
  } catch (error) {
    for (const [name, variable] of Object.entries(variables())) {
      if (!before.has(name)) variable.dispose();
    }
    throw error;
  }
}
