import * as tf from '@tensorflow/tfjs-core';
import type { AttentionOrder } from '../kernel_names.js';
import { elementwiseAttention } from '../ops/elementwise_attention.js';
import { elementwiseAttentionStep } from '../ops/elementwise_attention_step.js';
import { type AttentionState, zeroState } from '../state.js';
import {
  checkFloatTensor,
  checkOptionNames,
  checkOrder,
  fail,
  formatShape,
  type TensorInput,
} from '../validation.js';

export interface ElementwiseAttentionConfig {
  /** Width of the input, of q/k/v, and of the output. */
  dModel: number;
  /** Highest Taylor degree t (even, >= 0) or `'exact'`. Default 6. */
  order?: AttentionOrder;
  /** Causal attention (language models, forecasting). Default false. */
  causal?: boolean;
  /** Add a bias to each projection. Default true. */
  useBias?: boolean;
  /** Prefix of the variable names; unique by default. */
  name?: string;
  /** Seed of the Glorot-uniform initialisation, for reproducible weights. */
  seed?: number;
  /** Whether the variables are trainable. Default true. */
  trainable?: boolean;
}

const CONFIG_NAMES = ['dModel', 'order', 'causal', 'useBias', 'name', 'seed', 'trainable'] as const;
const PROJECTIONS = ['query', 'key', 'value', 'output'] as const;

let unnamedLayers = 0;

/** tfjs variable names are global, so unnamed layers get distinct prefixes. */
function uniqueDefaultName(): string {
  const index = unnamedLayers++;
  return index === 0 ? 'elementwise_attention' : `elementwise_attention_${index}`;
}

/**
 * Element-wise attention layer on tfjs-core alone: y = EA(x Wq + bq, x Wk + bk, x Wv + bv) Wo + bo.
 *
 * Non-causal or causal via `apply`; a causal layer also runs as an RNN: `prefill` a prompt in
 * parallel, then `step` one token at a time with O(t·dModel) state per sequence.
 */
export class ElementwiseAttention {
  readonly dModel: number;
  readonly order: AttentionOrder;
  readonly causal: boolean;
  readonly useBias: boolean;
  readonly name: string;
  private readonly variables: Map<string, tf.Variable>;
  private disposed = false;

  constructor(config: ElementwiseAttentionConfig) {
    const op = 'ElementwiseAttention';
    if (config == null || typeof config !== 'object')
      fail(op, `config must be an object, got ${String(config)}`);
    checkOptionNames(op, config, CONFIG_NAMES);
    const { dModel } = config;
    if (!Number.isInteger(dModel) || dModel < 1)
      fail(op, `dModel must be a positive integer, got ${String(dModel)}`);
    this.dModel = dModel;
    this.order = checkOrder(op, config.order ?? 6);
    this.causal = config.causal ?? false;
    this.useBias = config.useBias ?? true;
    this.name = config.name ?? uniqueDefaultName();
    const trainable = config.trainable ?? true;
    const limit = Math.sqrt(6 / (dModel + dModel));
    this.variables = new Map();
    PROJECTIONS.forEach((projection, i) => {
      const seed = config.seed == null ? undefined : config.seed + i;
      const kernelName = `${this.name}/${projection}/kernel`;
      this.addVariable(kernelName, trainable, () =>
        tf.randomUniform([dModel, dModel], -limit, limit, 'float32', seed),
      );
      if (this.useBias) {
        this.addVariable(`${this.name}/${projection}/bias`, trainable, () => tf.zeros([dModel]));
      }
    });
  }

  /** The layer's variables, in a fixed order (kernel then bias, for query, key, value, output). */
  get trainableWeights(): tf.Variable[] {
    this.assertAlive();
    return [...this.variables.values()];
  }

  /** x [B, L, dModel] (or [L, dModel]) -> [B, L, dModel]. `mask` [B, L] marks visible keys. */
  apply(x: TensorInput, options: { mask?: TensorInput } = {}): tf.Tensor {
    checkOptionNames('ElementwiseAttention.apply', options, ['mask']);
    return tf.tidy(() => {
      const input = this.checkInput('apply', x, [3, 2]);
      const [q, k, v] = (['query', 'key', 'value'] as const).map((p) => this.project(p, input));
      const y = elementwiseAttention(q, k, v, {
        order: this.order,
        causal: this.causal,
        mask: options.mask,
      });
      return this.project('output', y);
    });
  }

  /**
   * Runs a causal layer over a prompt in parallel and returns the state to continue with
   * `step`. Also continues from a given state, so long inputs can be processed in chunks.
   */
  prefill(
    x: TensorInput,
    options: { mask?: TensorInput; state?: AttentionState } = {},
  ): { y: tf.Tensor; state: AttentionState } {
    checkOptionNames('ElementwiseAttention.prefill', options, ['mask', 'state']);
    this.assertRecurrent('prefill');
    const result = tf.tidy(() => {
      const input = this.checkInput('prefill', x, [3, 2]);
      const [q, k, v] = (['query', 'key', 'value'] as const).map((p) => this.project(p, input));
      const { y, finalState } = elementwiseAttention(q, k, v, {
        order: this.order,
        causal: true,
        mask: options.mask,
        initialState: options.state,
        returnFinalState: true,
      });
      return { y: this.project('output', y), s: finalState.s, z: finalState.z };
    });
    return { y: result.y, state: { s: result.s, z: result.z } };
  }

  /** The state of `batch` empty sequences: zeros [batch, order + 1, dModel]. */
  initState(batch: number): AttentionState {
    this.assertRecurrent('initState');
    if (!Number.isInteger(batch) || batch < 1) {
      fail(
        'ElementwiseAttention.initState',
        `batch must be a positive integer, got ${String(batch)}`,
      );
    }
    return zeroState(this.order as number, batch, this.dModel);
  }

  /** One token: xt [B, dModel] (or [dModel]) -> y of the same shape, and the next state. */
  step(xt: TensorInput, state: AttentionState): { y: tf.Tensor; state: AttentionState } {
    this.assertRecurrent('step');
    const result = tf.tidy(() => {
      const input = this.checkInput('step', xt, [2, 1]);
      const [q, k, v] = (['query', 'key', 'value'] as const).map((p) => this.project(p, input));
      const { y, state: next } = elementwiseAttentionStep(q, k, v, state, {
        order: this.order as number,
      });
      return { y: this.project('output', y), s: next.s, z: next.z };
    });
    return { y: result.y, state: { s: result.s, z: result.z } };
  }

  /** The variables by name. They are the layer's own: do not dispose them. */
  getWeights(): tf.NamedTensorMap {
    this.assertAlive();
    return Object.fromEntries(this.variables);
  }

  /** Assigns every variable from a map with exactly the names, shapes and dtypes of `getWeights()`. */
  setWeights(weights: tf.NamedTensorMap): void {
    this.assertAlive();
    const op = 'ElementwiseAttention.setWeights';
    const expected = [...this.variables.keys()];
    const missing = expected.filter((name) => !(name in weights));
    const unexpected = Object.keys(weights).filter((name) => !this.variables.has(name));
    if (missing.length > 0 || unexpected.length > 0) {
      fail(
        op,
        `weights must have exactly the names ${expected.join(', ')}; missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`,
      );
    }
    for (const [name, variable] of this.variables) {
      const value = weights[name];
      if (value.dtype !== 'float32')
        fail(op, `${name} must have dtype float32, got ${value.dtype}`);
      if (!tf.util.arraysEqual(value.shape, variable.shape)) {
        fail(
          op,
          `${name} must have shape ${formatShape(variable.shape)}, got ${formatShape(value.shape)}`,
        );
      }
    }
    for (const [name, variable] of this.variables) variable.assign(weights[name]);
  }

  dispose(): void {
    if (this.disposed) return;
    for (const variable of this.variables.values()) variable.dispose();
    this.disposed = true;
  }

  private addVariable(name: string, trainable: boolean, initial: () => tf.Tensor): void {
    const value = initial();
    this.variables.set(name, tf.variable(value, trainable, name));
    value.dispose();
  }

  private project(projection: (typeof PROJECTIONS)[number], x: tf.Tensor): tf.Tensor {
    const kernel = this.variables.get(`${this.name}/${projection}/kernel`)!;
    const flat = tf.reshape(x, [-1, this.dModel]);
    let out = tf.matMul(flat, kernel);
    if (this.useBias) out = tf.add(out, this.variables.get(`${this.name}/${projection}/bias`)!);
    return tf.reshape(out, x.shape);
  }

  private checkInput(method: string, x: TensorInput, ranks: [number, number]): tf.Tensor {
    this.assertAlive();
    const op = `ElementwiseAttention.${method}`;
    const input = checkFloatTensor(op, 'x', x);
    const symbolic =
      ranks[0] === 3 ? '[B, L, dModel] (or [L, dModel])' : '[B, dModel] (or [dModel])';
    if (!ranks.includes(input.rank) || input.shape[input.rank - 1] !== this.dModel) {
      fail(
        op,
        `x must have shape ${symbolic} with dModel = ${this.dModel}, got ${formatShape(input.shape)}`,
      );
    }
    return input;
  }

  private assertRecurrent(method: string): void {
    this.assertAlive();
    const op = `ElementwiseAttention.${method}`;
    if (!this.causal) fail(op, 'needs a causal layer (construct it with causal: true)');
    if (this.order === 'exact') fail(op, "order 'exact' has no recurrent form; use a series order");
  }

  private assertAlive(): void {
    if (this.disposed) fail(`ElementwiseAttention '${this.name}'`, 'has been disposed');
  }
}
