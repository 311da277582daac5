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
import { checkConfig, positiveIntegerField } from './config.js';
import { describeValue, fail } from './errors.js';
import { checkStateParts } from './inputs.js';
import {
  type ConvolutionWindows,
  type Projection,
  type QKV,
  SELF_ATTENTION_KEYS,
  SelfAttentionLayer,
  type SelfAttentionLayerArgs,
} from './self_attention_layer.js';

export type { AttentionState };

/** The recurrent state of the EA layer: EA's moments, and the short convolutions' windows. */
export type ElementwiseAttentionLayerState = AttentionState & ConvolutionWindows;

/** {@link SelfAttentionLayerArgs} (its four kernels are D × D here) and EA's own settings. */
export interface ElementwiseAttentionLayerArgs extends SelfAttentionLayerArgs {
  /** Highest Taylor degree t: an even integer from 0 to 40, or `'exact'`. Default 6. */
  order?: number | 'exact';
  /** Channels that share one similarity (must divide D). Default 1: per-channel EA. */
  groupSize?: number;
  /**
   * `'rms'`: q and k go through RMSNorm with a learned gain (started at 1) before EA compares
   * them. Default `'none'`, the paper's plain projections.
   */
  qkNorm?: 'none' | 'rms';
  /**
   * b in (0, 8]: q and k go through `b·tanh(x / b)`, so |2qk| < 2b² stays where the Taylor
   * series follows `e^{2qk}` (b = 1.2: |2qk| < 2.9). 0 (default): unbounded.
   */
  qkBound?: number;
}

/** Options of {@link ElementwiseAttentionLayer.prefill}. */
export interface ElementwiseAttentionPrefillOptions {
  /** Key padding mask [B, L]; nonzero = visible. Masked positions add nothing to the state. */
  mask?: tf.Tensor;
  /** The state to continue from (default: empty), e.g. the previous chunk's. Left untouched. */
  state?: ElementwiseAttentionLayerState;
}

const FACTORY = 'elementwiseAttentionLayer';
/** Every config key, in the order error messages list them. */
const CONFIG_KEYS = ['order', 'groupSize', 'qkNorm', 'qkBound', ...SELF_ATTENTION_KEYS] as const;
/** RMSNorm's epsilon, as in `@elementwise/models`. */
const EPSILON = 1e-5;

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
  readonly qkNorm: 'none' | 'rms';
  readonly qkBound: number;
  private gains: { query: tfl.LayerVariable; key: tfl.LayerVariable } | null = null;

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
    const qkNorm = config.qkNorm ?? 'none';
    if (qkNorm !== 'none' && qkNorm !== 'rms') {
      fail(FACTORY, `config.qkNorm must be 'none' or 'rms', got ${describeValue(qkNorm)}`);
    }
    this.qkNorm = qkNorm;
    const qkBound = config.qkBound ?? 0;
    if (typeof qkBound !== 'number' || !(qkBound >= 0 && qkBound <= 8)) {
      fail(
        FACTORY,
        `config.qkBound must be 0 (unbounded) or a number in (0, 8], got ${describeValue(qkBound)}`,
      );
    }
    this.qkBound = qkBound;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    super.build(inputShape);
    if (this.qkNorm === 'rms') {
      const channels = this.builtChannels();
      const gain = (name: string) =>
        this.addTrainableWeight(name, [channels], tfl.initializers.ones());
      this.gains = { query: gain('query_norm/gain'), key: gain('key_norm/gain') };
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    // causal is named before groupSize as well, so the keys keep the order saved models have.
    return {
      order: this.order,
      causal: this.causal,
      groupSize: this.groupSize,
      qkNorm: this.qkNorm,
      qkBound: this.qkBound,
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

  protected override attend(qkv: QKV, mask: tf.Tensor2D | undefined): tf.Tensor {
    const [q, k, v] = this.compared(qkv);
    return elementwiseAttention(q, k, v, {
      order: this.order,
      causal: this.causal,
      groupSize: this.groupSize,
      ...(mask === undefined ? {} : { mask }),
    });
  }

  protected override attendAfter(
    qkv: QKV,
    state: AttentionState | undefined,
    mask: tf.Tensor2D | undefined,
  ): { attended: tf.Tensor; state: AttentionState } {
    const [q, k, v] = this.compared(qkv);
    const { y, finalState } = elementwiseAttention(q, k, v, {
      order: this.order,
      causal: true,
      groupSize: this.groupSize,
      returnFinalState: true,
      ...(mask === undefined ? {} : { mask }),
      ...(state === undefined ? {} : { initialState: { s: state.s, z: state.z } }),
    });
    return { attended: y, state: { s: finalState.s, z: finalState.z } };
  }

  /** O(F·D) whatever the position. */
  protected override attendOne(
    qkv: QKV,
    state: AttentionState,
  ): { attended: tf.Tensor; state: AttentionState } {
    const [q, k, v] = this.compared(qkv);
    const next = elementwiseAttentionStep(q, k, v, state, {
      order: this.order as number,
      groupSize: this.groupSize,
    });
    return { attended: next.y, state: { s: next.state.s, z: next.state.z } };
  }

  /** q and k as EA compares them: RMS-normalised and bounded where the config asks. */
  protected override compared([q, k, v]: QKV): QKV {
    let [query, key] = [q, k];
    if (this.gains !== null) {
      const rms = (x: tf.Tensor, gain: tfl.LayerVariable) => {
        const meanSquare = tf.mean(tf.square(x), x.rank - 1, true);
        return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, EPSILON))), gain.read());
      };
      [query, key] = [rms(query, this.gains.query), rms(key, this.gains.key)];
    }
    if (this.qkBound > 0) {
      const bound = (x: tf.Tensor) => tf.mul(tf.tanh(tf.div(x, this.qkBound)), this.qkBound);
      [query, key] = [bound(query), bound(key)];
    }
    return [query, key, v];
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
