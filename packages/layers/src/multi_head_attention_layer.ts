import { softmaxAttention } from '@elementwise/attention';
import * as tf from '@tensorflow/tfjs-core';
import { checkConfig, positiveIntegerField } from './config.js';
import { fail } from './errors.js';
import { checkStateParts } from './inputs.js';
import {
  type ConvolutionWindows,
  type Projection,
  type QKV,
  SELF_ATTENTION_KEYS,
  SelfAttentionLayer,
  type SelfAttentionLayerArgs,
} from './self_attention_layer.js';

/** {@link SelfAttentionLayerArgs} and the heads' sizes. */
export interface MultiHeadAttentionLayerArgs extends SelfAttentionLayerArgs {
  /** Number of attention heads H. Required. */
  numHeads: number;
  /** Width of each head's queries and keys. Required. */
  keyDim: number;
  /** Width of each head's values. Default `keyDim`. */
  valueDim?: number;
}

/**
 * The KV cache of a causal {@link MultiHeadAttentionLayer}: the keys and values of every position
 * seen so far, and which of them are visible (padding stays invisible to later positions).
 */
export type KeyValueCache = {
  /** [B, numHeads, T, keyDim] */
  key: tf.Tensor;
  /** [B, numHeads, T, valueDim] */
  value: tf.Tensor;
  /** [B, T], 1 = visible key, 0 = padding. */
  mask: tf.Tensor;
};

/** Options of {@link MultiHeadAttentionLayer.prefill}. */
export interface MultiHeadAttentionPrefillOptions {
  /** Key padding mask [B, L]; nonzero = visible. */
  mask?: tf.Tensor;
  /** The cache to continue from (default: empty). Left untouched. */
  state?: MultiHeadAttentionLayerState;
}

/** The recurrent state of the softmax layer: its KV cache and the short convolutions' windows. */
export type MultiHeadAttentionLayerState = KeyValueCache & ConvolutionWindows;

const FACTORY = 'multiHeadAttentionLayer';
/** Every config key, in the order error messages list them. */
const CONFIG_KEYS = ['numHeads', 'keyDim', 'valueDim', ...SELF_ATTENTION_KEYS] as const;

/**
 * Softmax multi-head self-attention as a tfjs layer, the twin of
 * {@link ElementwiseAttentionLayer}: x [B, L, D] → y [B, L, D] through q, k [D → H·keyDim],
 * v [D → H·valueDim] and an output projection back to D, each head
 * `softmax(q·kᵀ/√keyDim + masks)·v` by `softmaxAttention` of `@elementwise/attention` (an explicit backward whose
 * matMuls need no transpose flags; causal queries in row blocks that skip the masked triangle).
 *
 * Padding masks work as in the EA layer: a mask from the layer before is the key mask, a query
 * that sees no visible key outputs 0 (before the output projection), and the mask passes on.
 * Beside the graph, a causal layer decodes step by step with a KV cache: {@link initState},
 * {@link prefill}, {@link step}; the cache grows by one key and value per step.
 */
export class MultiHeadAttentionLayer extends SelfAttentionLayer<
  KeyValueCache,
  MultiHeadAttentionPrefillOptions
> {
  static className = 'MultiHeadAttentionLayer';

  readonly numHeads: number;
  readonly keyDim: number;
  readonly valueDim: number;

  constructor(args: MultiHeadAttentionLayerArgs) {
    if (args === undefined) {
      fail(FACTORY, 'config is required, e.g. {numHeads: 4, keyDim: 16, causal: true}');
    }
    const config = checkConfig<MultiHeadAttentionLayerArgs>(FACTORY, args, CONFIG_KEYS);
    super(FACTORY, config);
    this.numHeads = positiveIntegerField(FACTORY, 'numHeads', config.numHeads);
    this.keyDim = positiveIntegerField(FACTORY, 'keyDim', config.keyDim);
    this.valueDim = positiveIntegerField(FACTORY, 'valueDim', config.valueDim, this.keyDim);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      numHeads: this.numHeads,
      keyDim: this.keyDim,
      valueDim: this.valueDim,
      ...super.getConfig(),
    };
  }

  protected override projectionShapes(channels: number): Record<Projection, [number, number]> {
    return {
      query: [channels, this.numHeads * this.keyDim],
      key: [channels, this.numHeads * this.keyDim],
      value: [channels, this.numHeads * this.valueDim],
      output: [this.numHeads * this.valueDim, channels],
    };
  }

  protected override attend(qkv: QKV, mask: tf.Tensor2D | undefined): tf.Tensor {
    const batch = qkv[0].shape[0];
    const [q, k, v] = this.heads(qkv);
    const attended = softmaxAttention(q, k, v, {
      causal: this.causal,
      ...(mask === undefined ? {} : { mask: this.perHead(mask) }),
    });
    return this.mergeHeads(attended, batch);
  }

  /** One position after the cached ones: the cache grows by one key and value, O(T · D). */
  protected override attendOne(
    qkv: QKV,
    cache: KeyValueCache,
  ): { attended: tf.Tensor; state: KeyValueCache } {
    const sequence = qkv.map((x) => tf.expandDims(x, 1)) as QKV;
    const result = this.attendAfter(sequence, cache, undefined);
    return { attended: tf.squeeze(result.attended, [1]), state: result.state };
  }

  /** The empty cache (T = 0). */
  protected override emptyState(_where: string, batch: number): KeyValueCache {
    return {
      key: tf.zeros([batch, this.numHeads, 0, this.keyDim]),
      value: tf.zeros([batch, this.numHeads, 0, this.valueDim]),
      mask: tf.zeros([batch, 0]),
    };
  }

  /** Causal attention of the new positions over the cached keys and their own. */
  protected override attendAfter(
    qkv: QKV,
    cache: KeyValueCache | undefined,
    mask: tf.Tensor2D | undefined,
  ): { attended: tf.Tensor; state: KeyValueCache } {
    const [batch, length] = qkv[0].shape as [number, number, number];
    const [q, kNew, vNew] = this.heads(qkv);
    const cached = cache?.key.shape[2] ?? 0;
    const total = cached + length;
    const toHeads = (t: tf.Tensor, depth: number) =>
      tf.reshape(t, [batch * this.numHeads, cached, depth]) as tf.Tensor3D;
    const k = cache ? tf.concat([toHeads(cache.key, this.keyDim), kNew], 1) : kNew;
    const v = cache ? tf.concat([toHeads(cache.value, this.valueDim), vNew], 1) : vNew;
    const ownMask = mask ?? tf.ones([batch, length]);
    const fullMask = cache ? tf.concat([cache.mask, ownMask], 1) : ownMask;
    const useMask = cache !== undefined || mask !== undefined;
    const attended = softmaxAttention(q, k as tf.Tensor3D, v as tf.Tensor3D, {
      // One new position sees every key before it and itself: nothing for a causal mask to hide.
      causal: length > 1,
      ...(useMask ? { mask: this.perHead(fullMask) } : {}),
    });
    return {
      attended: this.mergeHeads(attended, batch),
      state: {
        key: tf.reshape(k, [batch, this.numHeads, total, this.keyDim]),
        value: tf.reshape(v, [batch, this.numHeads, total, this.valueDim]),
        mask: fullMask,
      },
    };
  }

  /** q, k, v [B, L, H · d], heads as batch: [B · H, L, keyDim | valueDim]. */
  private heads([q, k, v]: QKV): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
    return [
      this.splitHeads(q, this.keyDim),
      this.splitHeads(k, this.keyDim),
      this.splitHeads(v, this.valueDim),
    ];
  }

  /** [B, L, H · d] → [B · H, L, d]. */
  private splitHeads(x: tf.Tensor, depth: number): tf.Tensor3D {
    const [batch, length] = x.shape as [number, number, number];
    if (this.numHeads === 1) return x as tf.Tensor3D;
    const heads = tf.reshape(x, [batch, length, this.numHeads, depth]);
    return tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [
      batch * this.numHeads,
      length,
      depth,
    ]) as tf.Tensor3D;
  }

  /** [B · H, L, valueDim] → [B, L, H · valueDim]. */
  private mergeHeads(x: tf.Tensor3D, batch: number): tf.Tensor3D {
    const length = x.shape[1];
    if (this.numHeads === 1) return x;
    const heads = tf.reshape(x, [batch, this.numHeads, length, this.valueDim]);
    return tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [
      batch,
      length,
      this.numHeads * this.valueDim,
    ]) as tf.Tensor3D;
  }

  /** A key mask [B, T] for every head: [B · H, T]. */
  private perHead(mask: tf.Tensor): tf.Tensor2D {
    const [batch, length] = mask.shape as [number, number];
    if (this.numHeads === 1) return mask as tf.Tensor2D;
    return tf.reshape(tf.tile(tf.reshape(mask, [batch, 1, length]), [1, this.numHeads, 1]), [
      batch * this.numHeads,
      length,
    ]) as tf.Tensor2D;
  }

  protected override checkState(
    where: string,
    name: string,
    state: unknown,
    batch: number,
  ): KeyValueCache {
    const heads = this.numHeads;
    const probe = state as Partial<KeyValueCache> | null;
    const cached =
      probe !== null && typeof probe === 'object' && probe.key instanceof tf.Tensor
        ? (probe.key.shape[2] ?? null)
        : null;
    const parts = checkStateParts(where, name, state, {
      key: { shape: [batch, heads, cached, this.keyDim], symbolic: '[B, numHeads, T, keyDim]' },
      value: {
        shape: [batch, heads, cached, this.valueDim],
        symbolic: '[B, numHeads, T, valueDim]',
      },
      mask: { shape: [batch, cached], symbolic: '[B, T]' },
    });
    return { key: parts.key, value: parts.value, mask: parts.mask };
  }
}

tf.serialization.registerClass(MultiHeadAttentionLayer);

/**
 * Softmax multi-head self-attention layer, the twin of `elementwiseAttentionLayer`:
 * `multiHeadAttentionLayer({numHeads: 4, keyDim: 16, causal: true})`. See
 * {@link MultiHeadAttentionLayer}.
 */
export function multiHeadAttentionLayer(
  args: MultiHeadAttentionLayerArgs,
): MultiHeadAttentionLayer {
  return new MultiHeadAttentionLayer(args);
}
