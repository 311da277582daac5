import {
  type AttentionState,
  elementwiseAttention,
  elementwiseAttentionStep,
  groupFeatureCount,
  MAX_GROUP_FEATURES,
  orderProblem,
  zeroState,
} from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  booleanField,
  checkConfig,
  checkOptions,
  type Initializer,
  type InitializerIdentifier,
  initializerField,
  type Kwargs,
  type LayerArgs,
  maskFromKwargs,
  positiveIntegerField,
  serializeInitializer,
  singleInput,
} from './config.js';
import { describeValue, fail, formatShape } from './errors.js';
import { checkBatch, checkMask, checkSequence, checkStateParts, checkToken } from './inputs.js';
import { project } from './projection.js';

export type { AttentionState };

export interface ElementwiseAttentionLayerArgs extends LayerArgs {
  /** Highest Taylor degree t: an even integer from 0 to 40, or `'exact'`. Default 6. */
  order?: number | 'exact';
  /** Query i sees keys j <= i (language models, forecasting). Default false. */
  causal?: boolean;
  /** Channels that share one similarity (must divide D). Default 1: per-channel EA. */
  groupSize?: number;
  /** Add a bias to each of the four projections. Default true. */
  useBias?: boolean;
  /** Initializer of the four D × D kernels. Default `'glorotUniform'`. */
  kernelInitializer?: InitializerIdentifier;
  /** Initializer of the biases. Default `'zeros'`. */
  biasInitializer?: InitializerIdentifier;
}

/** Options of {@link ElementwiseAttentionLayer.prefill}. */
export interface ElementwiseAttentionPrefillOptions {
  /** Key padding mask [B, L]; nonzero = visible. Masked positions add nothing to the state. */
  mask?: tf.Tensor;
  /** The state to continue from (default: empty), e.g. the previous chunk's. Left untouched. */
  state?: AttentionState;
}

const FACTORY = 'elementwiseAttentionLayer';
const OWN_ARGS = [
  'order',
  'causal',
  'groupSize',
  'useBias',
  'kernelInitializer',
  'biasInitializer',
] as const;
const PROJECTIONS = ['query', 'key', 'value', 'output'] as const;
type Projection = (typeof PROJECTIONS)[number];

/**
 * Element-wise attention (Feng 2025) as a tfjs layer: self-attention on x [B, L, D] with four
 * D × D projections, `y = EA(x Wq + bq, x Wk + bk, x Wv + bv) Wo + bo`, where EA is
 * `elementwiseAttention` of `@elementwise/attention` (O(t·L·D), no heads, no L × L matrix).
 *
 * A padding mask from the layer before (`tf.layers.embedding({maskZero: true})`, or
 * `apply(x, {mask})`) is the key mask: masked positions are invisible to every query; the mask
 * passes on unchanged to the next layer. Beside the graph, a causal layer of a series order runs
 * as an RNN: {@link initState}, {@link prefill} a prompt in parallel, then {@link step} one
 * position at a time with a constant-size state.
 */
export class ElementwiseAttentionLayer extends tfl.layers.Layer {
  static className = 'ElementwiseAttentionLayer';

  readonly order: number | 'exact';
  readonly causal: boolean;
  readonly groupSize: number;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private readonly kernels = new Map<Projection, tfl.LayerVariable>();
  private readonly biases = new Map<Projection, tfl.LayerVariable>();
  private channels: number | null = null;

  constructor(args?: ElementwiseAttentionLayerArgs) {
    const config = checkConfig<ElementwiseAttentionLayerArgs>(FACTORY, args, OWN_ARGS);
    super(config);
    const problem = orderProblem(config.order ?? 6);
    if (problem !== undefined) fail(FACTORY, `config.order ${problem}`);
    this.order = config.order ?? 6;
    this.causal = booleanField(FACTORY, 'causal', config.causal, false);
    this.groupSize = positiveIntegerField(FACTORY, 'groupSize', config.groupSize, 1);
    if (
      this.order !== 'exact' &&
      groupFeatureCount(this.groupSize, this.order) > MAX_GROUP_FEATURES
    ) {
      fail(
        FACTORY,
        `config.groupSize ${this.groupSize} at order ${this.order} needs C(d + t, t) = ${groupFeatureCount(this.groupSize, this.order)} Taylor features per channel, more than ${MAX_GROUP_FEATURES}; use a smaller group or order`,
      );
    }
    this.useBias = booleanField(FACTORY, 'useBias', config.useBias, true);
    this.kernelInitializer = initializerField(
      FACTORY,
      'kernelInitializer',
      config.kernelInitializer,
      'glorotUniform',
    );
    this.biasInitializer = initializerField(
      FACTORY,
      'biasInitializer',
      config.biasInitializer,
      'zeros',
    );
    this.supportsMasking = true;
  }

  /** tfjs adds its custom-object table to every config it deserializes; it is not ours. */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const { customObjects: _, ...own } = config;
    return new cls(own);
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const channels = this.checkInputShape(`${this.getClassName()}.build`, inputShape);
    for (const projection of PROJECTIONS) {
      this.kernels.set(
        projection,
        this.addWeight(
          `${projection}/kernel`,
          [channels, channels],
          'float32',
          this.kernelInitializer,
          undefined,
          true,
        ),
      );
      if (this.useBias) {
        this.biases.set(
          projection,
          this.addWeight(
            `${projection}/bias`,
            [channels],
            'float32',
            this.biasInitializer,
            undefined,
            true,
          ),
        );
      }
    }
    this.channels = channels;
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    this.checkInputShape(`${this.getClassName()}.computeOutputShape`, inputShape);
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const where = `${this.getClassName()} '${this.name}'`;
      const x = checkSequence(where, singleInput(where, inputs), this.builtChannels());
      const mask = maskFromKwargs(kwargs);
      const [q, k, v] = this.projectQKV(x);
      const y = elementwiseAttention(q, k, v, {
        order: this.order,
        causal: this.causal,
        groupSize: this.groupSize,
        ...(mask === null ? {} : { mask: checkMask(where, mask, x.shape[0], x.shape[1]) }),
      });
      return this.projectOne('output', y);
    });
  }

  /** The padding mask passes through: position i of the output belongs to position i. */
  override computeMask(
    _inputs: tf.Tensor | tf.Tensor[],
    mask?: tf.Tensor | tf.Tensor[],
  ): tf.Tensor | tf.Tensor[] {
    // tfjs reads null as "no mask"; its declared type leaves null out.
    return maskFromKwargs({ mask }) as tf.Tensor;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      order: this.order,
      causal: this.causal,
      groupSize: this.groupSize,
      useBias: this.useBias,
      kernelInitializer: serializeInitializer(this.kernelInitializer),
      biasInitializer: serializeInitializer(this.biasInitializer),
      ...super.getConfig(),
    };
  }

  /**
   * The state of `batch` empty sequences: s, z zeros of shape [batch, F, D] and
   * [batch, F, D / groupSize] (F = order + 1 for per-channel EA). Needs a built layer.
   */
  initState(batch: number): AttentionState {
    const where = `${this.getClassName()}.initState`;
    this.assertRecurrent(where);
    const size = checkBatch(where, batch);
    if (this.channels === null) {
      fail(
        where,
        'the layer is not built yet, so D is unknown; call it on an input first (apply, predict, prefill or step)',
      );
    }
    return zeroState(this.order as number, size, this.channels, this.groupSize);
  }

  /**
   * Runs the causal layer over x [B, L, D] in parallel from `state` (default: empty) and returns
   * y [B, L, D], equal to the layer's call, and the state after the last position, to continue
   * with {@link step} or the next chunk. Tensors in, new tensors out: dispose both yourself.
   */
  prefill(
    x: tf.Tensor,
    options: ElementwiseAttentionPrefillOptions = {},
  ): { y: tf.Tensor3D; state: AttentionState } {
    const where = `${this.getClassName()}.prefill`;
    this.assertRecurrent(where);
    const opts = checkOptions(where, options, ['mask', 'state']);
    const channels = this.ensureBuilt(where, x, 3);
    const input = checkSequence(where, x, channels);
    const [batch, length] = input.shape;
    const initial =
      opts.state === undefined ? undefined : this.checkState(where, 'state', opts.state, batch);
    const result = tf.tidy(() => {
      const [q, k, v] = this.projectQKV(input);
      const { y, finalState } = elementwiseAttention(q, k, v, {
        order: this.order,
        causal: true,
        groupSize: this.groupSize,
        returnFinalState: true,
        ...(opts.mask === undefined ? {} : { mask: checkMask(where, opts.mask, batch, length) }),
        ...(initial === undefined ? {} : { initialState: initial }),
      });
      return { y: this.projectOne('output', y) as tf.Tensor3D, s: finalState.s, z: finalState.z };
    });
    return { y: result.y, state: { s: result.s, z: result.z } };
  }

  /**
   * One position: xt [B, D] and the state before it give y [B, D] (the causal call's output at
   * that position) and the state after it. O(F·D) whatever the position. `state` is left
   * untouched: dispose it yourself when you no longer need it (`tf.dispose(state)`).
   */
  step(xt: tf.Tensor, state: AttentionState): { y: tf.Tensor2D; state: AttentionState } {
    const where = `${this.getClassName()}.step`;
    this.assertRecurrent(where);
    const channels = this.ensureBuilt(where, xt, 2);
    const input = checkToken(where, xt, channels);
    const current = this.checkState(where, 'state', state, input.shape[0]);
    const result = tf.tidy(() => {
      const [q, k, v] = this.projectQKV(input);
      const next = elementwiseAttentionStep(q, k, v, current, {
        order: this.order as number,
        groupSize: this.groupSize,
      });
      return {
        y: this.projectOne('output', next.y) as tf.Tensor2D,
        s: next.state.s,
        z: next.state.z,
      };
    });
    return { y: result.y, state: { s: result.s, z: result.z } };
  }

  private projectQKV(x: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] {
    return [this.projectOne('query', x), this.projectOne('key', x), this.projectOne('value', x)];
  }

  private projectOne(projection: Projection, x: tf.Tensor): tf.Tensor {
    const kernel = this.kernels.get(projection)!.read();
    const bias = this.biases.get(projection)?.read() ?? null;
    return project(x, kernel, bias);
  }

  private checkState(where: string, name: string, state: unknown, batch: number): AttentionState {
    const channels = this.builtChannels();
    const order = this.order as number;
    const features = groupFeatureCount(this.groupSize, order);
    const grouped = this.groupSize > 1;
    const at = grouped ? `order ${order} and groupSize ${this.groupSize}` : `order ${order}`;
    const parts = checkStateParts(where, name, state, {
      s: {
        shape: [batch, features, channels],
        symbolic: `${grouped ? '[B, F, D]' : '[B, order + 1, D]'} for ${at}`,
      },
      z: {
        shape: [batch, features, channels / this.groupSize],
        symbolic: `${grouped ? '[B, F, D / groupSize]' : '[B, order + 1, D]'} for ${at}`,
      },
    });
    return { s: parts.s, z: parts.z };
  }

  /** Validates an input shape [B, L, D] (B and L may be null) and returns D. */
  private checkInputShape(where: string, inputShape: tfl.Shape | tfl.Shape[]): number {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    if (Array.isArray(inputShape[0]) && inputShape.length !== 1) {
      fail(where, `expects one input, got ${inputShape.length}`);
    }
    const channels = shape[shape.length - 1];
    if (shape.length !== 3 || typeof channels !== 'number' || channels < 1) {
      fail(where, `input shape must be [B, L, D] with a known D, got ${formatShape(shape)}`);
    }
    if (channels % this.groupSize !== 0) {
      fail(
        where,
        `config.groupSize must divide the input's channel count D = ${channels}, got ${this.groupSize}`,
      );
    }
    if (this.channels !== null && channels !== this.channels) {
      fail(
        where,
        `input shape must be [B, L, ${this.channels}] as the layer was built for, got ${formatShape(shape)}`,
      );
    }
    return channels;
  }

  private builtChannels(): number {
    if (this.channels === null) fail(this.getClassName(), 'the layer is not built');
    return this.channels;
  }

  /**
   * Builds the layer from a tensor's last axis if nothing has called it yet (prefill or step
   * may come first), through tfjs's own `apply`, so weights are named as in a model.
   */
  private ensureBuilt(where: string, x: unknown, rank: 2 | 3): number {
    if (this.channels !== null) return this.channels;
    if (!(x instanceof tf.Tensor) || x.rank !== rank || x.shape[rank - 1] < 1) {
      const symbolic = rank === 3 ? 'x must have shape [B, L, D]' : 'xt must have shape [B, D]';
      fail(where, `${symbolic}, got ${describeValue(x)}`);
    }
    const channels = x.shape[rank - 1];
    tf.tidy(() => {
      this.apply(tf.zeros([1, 1, channels]));
    });
    return this.builtChannels();
  }

  private assertRecurrent(where: string): void {
    if (!this.causal) {
      fail(where, 'needs a causal layer (construct it with causal: true); this one is not causal');
    }
    if (this.order === 'exact') {
      fail(where, "order 'exact' has no recurrent form; use an even series order such as 6");
    }
  }
}

tf.serialization.registerClass(ElementwiseAttentionLayer);

/**
 * Element-wise attention self-attention layer (tfjs-style factory, like `tf.layers.dense`):
 * `elementwiseAttentionLayer({order: 6, causal: true})`. See {@link ElementwiseAttentionLayer}.
 */
export function elementwiseAttentionLayer(
  args?: ElementwiseAttentionLayerArgs,
): ElementwiseAttentionLayer {
  return new ElementwiseAttentionLayer(args);
}
