import { softmaxAttention } from '@elementwise/attention';
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

export interface MultiHeadAttentionLayerArgs extends LayerArgs {
  /** Number of attention heads H. Required. */
  numHeads: number;
  /** Width of each head's queries and keys. Required. */
  keyDim: number;
  /** Width of each head's values. Default `keyDim`. */
  valueDim?: number;
  /** Query i sees keys j <= i. Default false. */
  causal?: boolean;
  /** Add a bias to each of the four projections. Default true. */
  useBias?: boolean;
  /** Initializer of the projection kernels. Default `'glorotUniform'`. */
  kernelInitializer?: InitializerIdentifier;
  /** Initializer of the biases. Default `'zeros'`. */
  biasInitializer?: InitializerIdentifier;
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
  state?: KeyValueCache;
}

const FACTORY = 'multiHeadAttentionLayer';
const OWN_ARGS = [
  'numHeads',
  'keyDim',
  'valueDim',
  'causal',
  'useBias',
  'kernelInitializer',
  'biasInitializer',
] as const;
const PROJECTIONS = ['query', 'key', 'value', 'output'] as const;
type Projection = (typeof PROJECTIONS)[number];

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
export class MultiHeadAttentionLayer extends tfl.layers.Layer {
  static className = 'MultiHeadAttentionLayer';

  readonly numHeads: number;
  readonly keyDim: number;
  readonly valueDim: number;
  readonly causal: boolean;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private readonly kernels = new Map<Projection, tfl.LayerVariable>();
  private readonly biases = new Map<Projection, tfl.LayerVariable>();
  private channels: number | null = null;

  constructor(args: MultiHeadAttentionLayerArgs) {
    if (args === undefined) {
      fail(FACTORY, 'config is required, e.g. {numHeads: 4, keyDim: 16, causal: true}');
    }
    const config = checkConfig<MultiHeadAttentionLayerArgs>(FACTORY, args, OWN_ARGS);
    super(config);
    this.numHeads = positiveIntegerField(FACTORY, 'numHeads', config.numHeads);
    this.keyDim = positiveIntegerField(FACTORY, 'keyDim', config.keyDim);
    this.valueDim = positiveIntegerField(FACTORY, 'valueDim', config.valueDim, this.keyDim);
    this.causal = booleanField(FACTORY, 'causal', config.causal, false);
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
    const width: Record<Projection, [number, number]> = {
      query: [channels, this.numHeads * this.keyDim],
      key: [channels, this.numHeads * this.keyDim],
      value: [channels, this.numHeads * this.valueDim],
      output: [this.numHeads * this.valueDim, channels],
    };
    for (const projection of PROJECTIONS) {
      const shape = width[projection];
      this.kernels.set(
        projection,
        this.addWeight(
          `${projection}/kernel`,
          shape,
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
            [shape[1]],
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
      const [batch, length] = x.shape;
      const maskIn = maskFromKwargs(kwargs);
      const mask = maskIn === null ? undefined : checkMask(where, maskIn, batch, length);
      const [q, k, v] = this.headsQKV(x);
      const attended = softmaxAttention(q, k, v, {
        causal: this.causal,
        ...(mask === undefined ? {} : { mask: this.perHead(mask) }),
      });
      return this.projectOne('output', this.mergeHeads(attended, batch));
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
      numHeads: this.numHeads,
      keyDim: this.keyDim,
      valueDim: this.valueDim,
      causal: this.causal,
      useBias: this.useBias,
      kernelInitializer: serializeInitializer(this.kernelInitializer),
      biasInitializer: serializeInitializer(this.biasInitializer),
      ...super.getConfig(),
    };
  }

  /** The empty cache of `batch` sequences (T = 0). */
  initState(batch: number): KeyValueCache {
    const where = `${this.getClassName()}.initState`;
    this.assertCausal(where);
    const size = checkBatch(where, batch);
    return {
      key: tf.zeros([size, this.numHeads, 0, this.keyDim]),
      value: tf.zeros([size, this.numHeads, 0, this.valueDim]),
      mask: tf.zeros([size, 0]),
    };
  }

  /**
   * Runs the causal layer over x [B, L, D] after the positions in `state` (default: none) and
   * returns y [B, L, D], equal to the layer's call over the whole sequence at those positions,
   * and the cache with the L new keys and values appended. Dispose both yourself.
   */
  prefill(
    x: tf.Tensor,
    options: MultiHeadAttentionPrefillOptions = {},
  ): { y: tf.Tensor3D; state: KeyValueCache } {
    const where = `${this.getClassName()}.prefill`;
    this.assertCausal(where);
    const opts = checkOptions(where, options, ['mask', 'state']);
    const channels = this.ensureBuilt(where, x, 3);
    const input = checkSequence(where, x, channels);
    const [batch, length] = input.shape;
    const cache =
      opts.state === undefined ? undefined : this.checkCache(where, 'state', opts.state, batch);
    return tf.tidy(() => {
      const mask = opts.mask === undefined ? undefined : checkMask(where, opts.mask, batch, length);
      return this.attendAfter(input, cache, mask);
    });
  }

  /**
   * One position: xt [B, D] after the cached ones gives y [B, D] (the causal call's output at
   * that position) and the cache with its key and value appended (T + 1). `state` is left
   * untouched: dispose it yourself (`tf.dispose(state)`). A step costs O(T · D).
   */
  step(xt: tf.Tensor, state: KeyValueCache): { y: tf.Tensor2D; state: KeyValueCache } {
    const where = `${this.getClassName()}.step`;
    this.assertCausal(where);
    const channels = this.ensureBuilt(where, xt, 2);
    const input = checkToken(where, xt, channels);
    const cache = this.checkCache(where, 'state', state, input.shape[0]);
    return tf.tidy(() => {
      const result = this.attendAfter(tf.expandDims(input, 1) as tf.Tensor3D, cache, undefined);
      return { y: tf.squeeze(result.y, [1]) as tf.Tensor2D, state: result.state };
    });
  }

  /** Causal attention of x's positions over the cached keys and their own. */
  private attendAfter(
    x: tf.Tensor3D,
    cache: KeyValueCache | undefined,
    mask: tf.Tensor2D | undefined,
  ): { y: tf.Tensor3D; state: KeyValueCache } {
    const [batch, length] = x.shape;
    const [q, kNew, vNew] = this.headsQKV(x);
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
      causal: true,
      ...(useMask ? { mask: this.perHead(fullMask) } : {}),
    });
    const y = this.projectOne('output', this.mergeHeads(attended, batch)) as tf.Tensor3D;
    return {
      y,
      state: {
        key: tf.reshape(k, [batch, this.numHeads, total, this.keyDim]),
        value: tf.reshape(v, [batch, this.numHeads, total, this.valueDim]),
        mask: fullMask,
      },
    };
  }

  /** q, k, v of x [B, L, D], heads as batch: [B · H, L, keyDim | valueDim]. */
  private headsQKV(x: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
    return [
      this.splitHeads(this.projectOne('query', x), this.keyDim),
      this.splitHeads(this.projectOne('key', x), this.keyDim),
      this.splitHeads(this.projectOne('value', x), this.valueDim),
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

  private projectOne(projection: Projection, x: tf.Tensor): tf.Tensor {
    const kernel = this.kernels.get(projection)!.read();
    const bias = this.biases.get(projection)?.read() ?? null;
    return project(x, kernel, bias);
  }

  private checkCache(where: string, name: string, state: unknown, batch: number): KeyValueCache {
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

  /** Builds the layer from a tensor's last axis if nothing has called it yet. */
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

  private assertCausal(where: string): void {
    if (!this.causal) {
      fail(where, 'needs a causal layer (construct it with causal: true); this one is not causal');
    }
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
