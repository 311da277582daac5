import * as tf from '@tensorflow/tfjs-core';
import { describeValue } from '../errors.js';
import type { AttentionOrder } from '../kernel_names.js';
import { elementwiseAttention } from '../ops/elementwise_attention.js';
import { elementwiseAttentionStep } from '../ops/elementwise_attention_step.js';
import { booleanOption, checkOptions } from '../options.js';
import { type AttentionState, zeroState } from '../state.js';
import {
  checkFloatTensor,
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

/**
 * Widest layer: four dModel × dModel float32 matrices of 8192² values hold 1 GiB, about what a
 * browser tab or the tfjs wasm heap (4 GiB, shared with activations and gradients) can spare.
 * A larger dModel is refused before anything is allocated.
 */
const MAX_LAYER_D_MODEL = 8192;

let unnamedLayers = 0;

/**
 * tfjs variable names are global, so unnamed layers get distinct prefixes, skipping any that a
 * layer named by the user already holds.
 */
function uniqueDefaultName(): string {
  for (;;) {
    const index = unnamedLayers++;
    const name = index === 0 ? 'elementwise_attention' : `elementwise_attention_${index}`;
    if (!variableNames(name, true).some(isRegistered)) return name;
  }
}

function variableNames(prefix: string, useBias: boolean): string[] {
  return PROJECTIONS.flatMap((projection) => [
    `${prefix}/${projection}/kernel`,
    ...(useBias ? [`${prefix}/${projection}/bias`] : []),
  ]);
}

function isRegistered(name: string): boolean {
  return tf.engine().registeredVariables[name] !== undefined;
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

  constructor(configIn: ElementwiseAttentionConfig) {
    const op = 'ElementwiseAttention';
    if (configIn === undefined) fail(op, 'config is required, e.g. {dModel: 64, causal: true}');
    const config = checkOptions<ElementwiseAttentionConfig>(op, configIn, CONFIG_NAMES, 'config');
    const { dModel, seed } = config;
    if (typeof dModel !== 'number' || !Number.isInteger(dModel) || dModel < 1) {
      fail(op, `config.dModel must be a positive integer, got ${describeValue(dModel)}`);
    }
    if (dModel > MAX_LAYER_D_MODEL) {
      fail(
        op,
        `config.dModel must be at most ${MAX_LAYER_D_MODEL} (four dModel × dModel float32 matrices), got ${dModel}`,
      );
    }
    this.dModel = dModel;
    this.order = checkOrder(op, config.order ?? 6);
    this.causal = booleanOption(op, 'config.causal', config.causal, false);
    this.useBias = booleanOption(op, 'config.useBias', config.useBias, true);
    const trainable = booleanOption(op, 'config.trainable', config.trainable, true);
    if (seed !== undefined && (typeof seed !== 'number' || !Number.isFinite(seed))) {
      fail(op, `config.seed must be a finite number, got ${describeValue(seed)}`);
    }
    if (config.name !== undefined && (typeof config.name !== 'string' || config.name === '')) {
      fail(op, `config.name must be a non-empty string, got ${describeValue(config.name)}`);
    }
    this.name = config.name ?? uniqueDefaultName();
    const taken = variableNames(this.name, this.useBias).find(isRegistered);
    if (taken !== undefined) {
      fail(
        op,
        `config.name '${this.name}' is taken: a tfjs variable named ${taken} exists (tfjs variable names are global); dispose the layer that holds it or pass another name`,
      );
    }
    const limit = Math.sqrt(6 / (dModel + dModel));
    this.variables = new Map();
    try {
      PROJECTIONS.forEach((projection, i) => {
        const projectionSeed = seed === undefined ? undefined : seed + i;
        this.addVariable(`${this.name}/${projection}/kernel`, trainable, () =>
          tf.randomUniform([dModel, dModel], -limit, limit, 'float32', projectionSeed),
        );
        if (this.useBias) {
          this.addVariable(`${this.name}/${projection}/bias`, trainable, () => tf.zeros([dModel]));
        }
      });
    } catch (error) {
      // A failed allocation (out of memory) must not leave half a layer's variables behind.
      this.dispose();
      throw error;
    }
  }

  /** The layer's variables, in a fixed order (kernel then bias, for query, key, value, output). */
  get trainableWeights(): tf.Variable[] {
    this.assertAlive();
    return [...this.variables.values()];
  }

  /** x [B, L, dModel] (or [L, dModel]) -> [B, L, dModel]. `mask` [B, L] marks visible keys. */
  apply(x: TensorInput, optionsIn?: { mask?: TensorInput }): tf.Tensor {
    const options = checkOptions<{ mask?: TensorInput }>('ElementwiseAttention.apply', optionsIn, [
      'mask',
    ]);
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
    optionsIn?: { mask?: TensorInput; state?: AttentionState },
  ): { y: tf.Tensor; state: AttentionState } {
    const options = checkOptions<{ mask?: TensorInput; state?: AttentionState }>(
      'ElementwiseAttention.prefill',
      optionsIn,
      ['mask', 'state'],
    );
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
    if (weights === null || typeof weights !== 'object' || Array.isArray(weights)) {
      fail(op, `weights must be an object of tensors by name, got ${describeValue(weights)}`);
    }
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
      if (!(value instanceof tf.Tensor)) {
        fail(op, `${name} must be a tf.Tensor, got ${describeValue(value)}`);
      }
      if (value.isDisposed) fail(op, `${name} has been disposed`);
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
    try {
      this.variables.set(name, tf.variable(value, trainable, name));
    } finally {
      value.dispose();
    }
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
