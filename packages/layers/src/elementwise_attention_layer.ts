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
import { checkConfig, positiveIntegerField } from './config.js';
import { fail } from './errors.js';
import { checkStateParts } from './inputs.js';
import {
  type Projection,
  SelfAttentionLayer,
  type SelfAttentionLayerArgs,
} from './self_attention_layer.js';

export type { AttentionState };

/** {@link SelfAttentionLayerArgs} (its four kernels are D × D here) and EA's own settings. */
export interface ElementwiseAttentionLayerArgs extends SelfAttentionLayerArgs {
  /** Highest Taylor degree t: an even integer from 0 to 40, or `'exact'`. Default 6. */
  order?: number | 'exact';
  /** Channels that share one similarity (must divide D). Default 1: per-channel EA. */
  groupSize?: number;
}

/** Options of {@link ElementwiseAttentionLayer.prefill}. */
export interface ElementwiseAttentionPrefillOptions {
  /** Key padding mask [B, L]; nonzero = visible. Masked positions add nothing to the state. */
  mask?: tf.Tensor;
  /** The state to continue from (default: empty), e.g. the previous chunk's. Left untouched. */
  state?: AttentionState;
}

const FACTORY = 'elementwiseAttentionLayer';
/** Every config key, in the order error messages list them. */
const CONFIG_KEYS = [
  'order',
  'causal',
  'groupSize',
  'useBias',
  'kernelInitializer',
  'biasInitializer',
] as const;

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
export class ElementwiseAttentionLayer extends SelfAttentionLayer<
  AttentionState,
  ElementwiseAttentionPrefillOptions
> {
  static className = 'ElementwiseAttentionLayer';

  readonly order: number | 'exact';
  readonly groupSize: number;

  constructor(args?: ElementwiseAttentionLayerArgs) {
    const config = checkConfig<ElementwiseAttentionLayerArgs>(FACTORY, args, CONFIG_KEYS);
    super(FACTORY, config);
    const problem = orderProblem(config.order ?? 6);
    if (problem !== undefined) fail(FACTORY, `config.order ${problem}`);
    this.order = config.order ?? 6;
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
  }

  override getConfig(): tf.serialization.ConfigDict {
    // causal is named before groupSize as well, so the keys keep the order saved models have.
    return {
      order: this.order,
      causal: this.causal,
      groupSize: this.groupSize,
      ...super.getConfig(),
    };
  }

  protected override assertRecurrent(where: string): void {
    super.assertRecurrent(where);
    if (this.order === 'exact') {
      fail(where, "order 'exact' has no recurrent form; use an even series order such as 6");
    }
  }

  protected override checkChannels(where: string, channels: number): void {
    if (channels % this.groupSize !== 0) {
      fail(
        where,
        `config.groupSize must divide the input's channel count D = ${channels}, got ${this.groupSize}`,
      );
    }
  }

  protected override projectionShapes(channels: number): Record<Projection, [number, number]> {
    const square: [number, number] = [channels, channels];
    return { query: square, key: square, value: square, output: square };
  }

  protected override attend(x: tf.Tensor3D, mask: tf.Tensor2D | undefined): tf.Tensor {
    const [q, k, v] = this.projectQKV(x);
    const y = elementwiseAttention(q, k, v, {
      order: this.order,
      causal: this.causal,
      groupSize: this.groupSize,
      ...(mask === undefined ? {} : { mask }),
    });
    return this.projectOne('output', y);
  }

  protected override attendAfter(
    x: tf.Tensor3D,
    state: AttentionState | undefined,
    mask: tf.Tensor2D | undefined,
  ): { y: tf.Tensor3D; state: AttentionState } {
    const [q, k, v] = this.projectQKV(x);
    const { y, finalState } = elementwiseAttention(q, k, v, {
      order: this.order,
      causal: true,
      groupSize: this.groupSize,
      returnFinalState: true,
      ...(mask === undefined ? {} : { mask }),
      ...(state === undefined ? {} : { initialState: state }),
    });
    return {
      y: this.projectOne('output', y) as tf.Tensor3D,
      state: { s: finalState.s, z: finalState.z },
    };
  }

  /** O(F·D) whatever the position. */
  protected override attendOne(
    xt: tf.Tensor2D,
    state: AttentionState,
  ): { y: tf.Tensor2D; state: AttentionState } {
    const [q, k, v] = this.projectQKV(xt);
    const next = elementwiseAttentionStep(q, k, v, state, {
      order: this.order as number,
      groupSize: this.groupSize,
    });
    return {
      y: this.projectOne('output', next.y) as tf.Tensor2D,
      state: { s: next.state.s, z: next.state.z },
    };
  }

  /**
   * s, z zeros of shape [batch, F, D] and [batch, F, D / groupSize] (F = order + 1 for
   * per-channel EA). Needs a built layer.
   */
  protected override emptyState(where: string, batch: number): AttentionState {
    if (this.channels === null) {
      fail(
        where,
        'the layer is not built yet, so D is unknown; call it on an input first (apply, predict, prefill or step)',
      );
    }
    return zeroState(this.order as number, batch, this.channels, this.groupSize);
  }

  protected override checkState(
    where: string,
    name: string,
    state: unknown,
    batch: number,
  ): AttentionState {
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

  private projectQKV(x: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] {
    return [this.projectOne('query', x), this.projectOne('key', x), this.projectOne('value', x)];
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
