import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  booleanField,
  checkConfig,
  type Initializer,
  type Kwargs,
  type LayerArgs,
  maskFromKwargs,
  singleInput,
} from './config.js';
import { type DropoutAt, dropoutOf, dropoutRateField } from './dropout.js';
import {
  ElementwiseAttentionLayer,
  type ElementwiseAttentionLayerState,
} from './elementwise_attention_layer.js';
import { describeValue, fail, formatShape } from './errors.js';
import { gelu } from './gelu.js';
import { ElementwiseLayer, inputShapeOf } from './layer.js';
import { layerNorm } from './layer_norm.js';
import {
  MultiHeadAttentionLayer,
  type MultiHeadAttentionLayerState,
} from './multi_head_attention_layer.js';
import { project } from './projection.js';
import { recomputeInBackward } from './recompute.js';

/** The attention inside a block, as the config of the layer that runs it. */
export type BlockAttention =
  | {
      kind: 'ea';
      /** Default 6. */
      order?: number | 'exact';
      groupSize?: number;
      qkNorm?: 'none' | 'rms';
      qkBound?: number;
    }
  | {
      kind: 'softmax';
      numHeads: number;
      /** Default D / numHeads. */
      keyDim?: number;
    };

export interface TransformerBlockLayerArgs extends LayerArgs {
  /** `{kind: 'ea', order, groupSize, qkNorm, qkBound}` or `{kind: 'softmax', numHeads, keyDim}`. */
  attention: BlockAttention;
  /** Causal attention (language models, forecasting). Default false. */
  causal?: boolean;
  /** The attention layer's short convolution on q, k, v (2–16; 0, default: none). */
  shortConv?: number;
  /** The attention layer's output gate. Default false. */
  outputGate?: boolean;
  /** `'post'` (default, as in Vaswani et al. and the EA paper) or `'pre'` LayerNorm. */
  norm?: 'post' | 'pre';
  /** Feed-forward width as a multiple of D; 0 leaves the feed-forward out. Default 4. */
  ffMultiplier?: number;
  /** `'gelu'` (tanh approximation, default) or `'relu'`. */
  activation?: 'gelu' | 'relu';
  /** Dropout on the attention output and in and after the feed-forward, in training. Default 0. */
  dropout?: number;
  /**
   * In training, keep only the block's input for the backward pass and recompute its
   * activations there (gradient checkpointing): a step holds one block's activations at a time
   * instead of every block's, for about one more forward pass of compute. Same gradients.
   * Default false; a call with `kwargs.recompute: true` (`model.apply(x, {training: true,
   * recompute: true})`) recomputes too.
   */
  recompute?: boolean;
}

/** The recurrent state of a block: its attention's. */
export type TransformerBlockState = ElementwiseAttentionLayerState | MultiHeadAttentionLayerState;

const FACTORY = 'transformerBlockLayer';
const CONFIG_KEYS = [
  'attention',
  'causal',
  'shortConv',
  'outputGate',
  'norm',
  'ffMultiplier',
  'activation',
  'dropout',
  'recompute',
] as const;
const EPSILON = 1e-5;
const NO_DROPOUT: DropoutAt = (x) => x;
/** Positions per chunk of a recomputed feed-forward's backward pass. */
const FEED_FORWARD_ROWS = 1024;

/**
 * One Transformer block around an EA or softmax attention layer, as a tfjs layer. Post-LN:
 * `h = LN₁(x + Dropout(Attention(x)))`, `y = LN₂(h + Dropout(FFN(h)))`; Pre-LN:
 * `h = x + Dropout(Attention(LN₁(x)))`, `y = h + Dropout(FFN(LN₂(h)))`, with
 * `FFN(x) = W₂ Dropout(act(W₁ x + b₁)) + b₂` of width `ffMultiplier · D` (none when 0). Its
 * weights are the attention layer's and its own (`attention_norm`, `feed_forward/expand`,
 * `feed_forward/contract`, `feed_forward_norm`), all saved with the model. A causal block of a
 * recurrent attention runs beside the graph as the attention does: {@link initState},
 * {@link prefill}, {@link step}.
 */
export class TransformerBlock extends ElementwiseLayer {
  static className = 'TransformerBlock';

  readonly attentionConfig: BlockAttention;
  readonly causal: boolean;
  readonly norm: 'post' | 'pre';
  readonly ffMultiplier: number;
  readonly activation: 'gelu' | 'relu';
  readonly rate: number;
  readonly recompute: boolean;
  /** Made in the constructor, or at build when a softmax keyDim waits for D. */
  private attentionLayer: ElementwiseAttentionLayer | MultiHeadAttentionLayer | null;
  private readonly attentionArgs: { shortConv: number; outputGate: boolean };
  private own: Record<string, tfl.LayerVariable> = {};

  constructor(args: TransformerBlockLayerArgs) {
    if (args === undefined) {
      fail(FACTORY, "config is required, e.g. {attention: {kind: 'ea', order: 6}, causal: true}");
    }
    const config = checkConfig<TransformerBlockLayerArgs>(FACTORY, args, CONFIG_KEYS);
    super(config);
    this.causal = booleanField(FACTORY, 'causal', config.causal, false);
    const norm = config.norm ?? 'post';
    if (norm !== 'post' && norm !== 'pre') {
      fail(FACTORY, `config.norm must be 'post' or 'pre', got ${describeValue(norm)}`);
    }
    this.norm = norm;
    const ffMultiplier = config.ffMultiplier ?? 4;
    if (
      typeof ffMultiplier !== 'number' ||
      !(ffMultiplier >= 0) ||
      !Number.isFinite(ffMultiplier)
    ) {
      fail(
        FACTORY,
        `config.ffMultiplier must be a finite number >= 0 (0: no feed-forward), got ${describeValue(ffMultiplier)}`,
      );
    }
    this.ffMultiplier = ffMultiplier;
    const activation = config.activation ?? 'gelu';
    if (activation !== 'gelu' && activation !== 'relu') {
      fail(FACTORY, `config.activation must be 'gelu' or 'relu', got ${describeValue(activation)}`);
    }
    this.activation = activation;
    this.rate = dropoutRateField(FACTORY, config.dropout);
    this.recompute = booleanField(FACTORY, 'recompute', config.recompute, false);
    this.attentionArgs = {
      shortConv: config.shortConv ?? 0,
      outputGate: config.outputGate ?? false,
    };
    this.attentionConfig = config.attention;
    this.attentionLayer = this.makeAttention(config.attention, null);
    this.supportsMasking = true;
  }

  /** The attention layer, or null for a softmax one whose keyDim waits for `channels`. */
  private makeAttention(
    attention: unknown,
    channels: number | null,
  ): ElementwiseAttentionLayer | MultiHeadAttentionLayer | null {
    const kind = (attention as { kind?: unknown } | null)?.kind;
    if (
      attention === null ||
      typeof attention !== 'object' ||
      (kind !== 'ea' && kind !== 'softmax')
    ) {
      fail(
        FACTORY,
        `config.attention must be {kind: 'ea', …} or {kind: 'softmax', numHeads, …}, got ${describeValue(attention)}`,
      );
    }
    const { kind: _, ...settings } = attention as Record<string, unknown>;
    const shared = { causal: this.causal, ...this.attentionArgs };
    if (kind === 'ea') return new ElementwiseAttentionLayer({ ...settings, ...shared });
    const numHeads = settings.numHeads as number;
    if (settings.keyDim === undefined) {
      if (channels === null) return null;
      if (!Number.isInteger(numHeads) || numHeads < 1 || channels % numHeads !== 0) {
        fail(
          FACTORY,
          `config.attention.numHeads must divide D = ${channels} when keyDim is not given, got ${describeValue(numHeads)}`,
        );
      }
      return new MultiHeadAttentionLayer({
        ...settings,
        numHeads,
        keyDim: channels / numHeads,
        ...shared,
      });
    }
    return new MultiHeadAttentionLayer({
      ...(settings as { numHeads: number; keyDim: number }),
      ...shared,
    });
  }

  /** The attention layer, once it exists. */
  private attention(where: string): ElementwiseAttentionLayer | MultiHeadAttentionLayer {
    if (this.attentionLayer === null) {
      fail(
        where,
        'the block is not built yet (its softmax keyDim comes from D); call it on an input first',
      );
    }
    return this.attentionLayer;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = inputShapeOf(inputShape);
    const channels = shape[shape.length - 1];
    if (shape.length !== 3 || typeof channels !== 'number' || channels < 1) {
      fail(
        'TransformerBlock.build',
        `input shape must be [B, L, D] with a known D, got ${formatShape(shape)}`,
      );
    }
    this.attentionLayer ??= this.makeAttention(this.attentionConfig, channels);
    this.attention('TransformerBlock.build').build(shape);
    const weight = (name: string, size: number[], init: Initializer) =>
      this.addTrainableWeight(name, size, init);
    const ones = tfl.initializers.ones();
    const zeros = tfl.initializers.zeros();
    this.own = {
      'attention_norm/gain': weight('attention_norm/gain', [channels], ones),
      'attention_norm/bias': weight('attention_norm/bias', [channels], zeros),
    };
    const hidden = Math.round(channels * this.ffMultiplier);
    if (hidden > 0) {
      const glorot = tfl.initializers.glorotUniform({});
      Object.assign(this.own, {
        'feed_forward/expand/kernel': weight(
          'feed_forward/expand/kernel',
          [channels, hidden],
          glorot,
        ),
        'feed_forward/expand/bias': weight('feed_forward/expand/bias', [hidden], zeros),
        'feed_forward/contract/kernel': weight(
          'feed_forward/contract/kernel',
          [hidden, channels],
          glorot,
        ),
        'feed_forward/contract/bias': weight('feed_forward/contract/bias', [channels], zeros),
        'feed_forward_norm/gain': weight('feed_forward_norm/gain', [channels], ones),
        'feed_forward_norm/bias': weight('feed_forward_norm/bias', [channels], zeros),
      });
    }
    this.built = true;
  }

  /** The attention layer's weights, then the block's own. */
  override get trainableWeights(): tfl.LayerVariable[] {
    return [...(this.attentionLayer?.trainableWeights ?? []), ...super.trainableWeights];
  }

  override get nonTrainableWeights(): tfl.LayerVariable[] {
    return [...(this.attentionLayer?.nonTrainableWeights ?? []), ...super.nonTrainableWeights];
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return inputShapeOf(inputShape);
  }

  override computeMask(
    _inputs: tf.Tensor | tf.Tensor[],
    mask?: tf.Tensor | tf.Tensor[],
  ): tf.Tensor | tf.Tensor[] {
    return maskFromKwargs({ mask }) as tf.Tensor;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const where = `TransformerBlock '${this.name}'`;
      const x = singleInput(where, inputs);
      const mask = maskFromKwargs(kwargs);
      const attention = this.attention(where);
      const recompute =
        kwargs?.['training'] === true && (this.recompute || kwargs?.['recompute'] === true);
      // The recomputation must draw the forward pass's dropout masks again: a seed fixes them.
      const seeded =
        recompute && kwargs?.['seed'] === undefined
          ? { ...kwargs, seed: Math.floor(Math.random() * 2 ** 31) }
          : kwargs;
      const drop = dropoutOf(this.name, where, seeded, this.rate);
      const attend = (input: tf.Tensor, keyMask?: tf.Tensor) =>
        this.attentionPart(
          input,
          drop,
          (normalized) =>
            attention.apply(
              normalized,
              keyMask === undefined ? {} : { mask: keyMask },
            ) as tf.Tensor,
        );
      const feedForward = (h: tf.Tensor) => this.feedForwardPart(h, drop);
      if (!recompute) return feedForward(attend(x, mask ?? undefined));
      // Each half keeps only its input: the backward pass holds one half's activations at a time.
      const variables = (names: string[]) =>
        names.map((name) => this.own[name].read() as tf.Variable);
      const attentionVariables = [
        ...attention.trainableWeights.map((weight) => weight.read() as tf.Variable),
        ...variables(['attention_norm/gain', 'attention_norm/bias']),
      ];
      const h = recomputeInBackward(attend, x, mask === null ? [] : [mask], attentionVariables);
      if (!this.hasFeedForward) return h;
      const feedForwardVariables = variables(
        Object.keys(this.own).filter((name) => name.startsWith('feed_forward')),
      );
      // Without dropout the feed-forward is position-wise: its backward runs over chunks of
      // positions, holding one chunk of its widest activations at a time.
      const rows = this.rate === 0 ? FEED_FORWARD_ROWS : undefined;
      return recomputeInBackward(feedForward, h, [], feedForwardVariables, rows);
    });
  }

  /**
   * The queries and keys the block's attention compares for the block's input x [B, L, D]
   * (Pre-LN: after the attention norm). See the attention layer's `queriesAndKeys`.
   */
  queriesAndKeys(x: tf.Tensor): { query: tf.Tensor3D; key: tf.Tensor3D } {
    const where = 'TransformerBlock.queriesAndKeys';
    if (!this.built) fail(where, 'the block is not built yet; call it on an input first');
    const attention = this.attention(where);
    if (this.norm === 'post') return attention.queriesAndKeys(x);
    const normalized = tf.tidy(() => this.layerNorm('attention_norm', x));
    try {
      return attention.queriesAndKeys(normalized);
    } finally {
      normalized.dispose();
    }
  }

  /** The attention's empty state for `batch` sequences. */
  initState(batch: number): TransformerBlockState {
    return this.attention('TransformerBlock.initState').initState(batch);
  }

  /**
   * The causal block over x [B, L, D] after `state` (default: empty): y and the state after it,
   * equal to the block's call at those positions. Inference: no dropout.
   */
  prefill(
    x: tf.Tensor,
    options: { mask?: tf.Tensor; state?: TransformerBlockState } = {},
  ): { y: tf.Tensor3D; state: TransformerBlockState } {
    const where = 'TransformerBlock.prefill';
    const { y, state } = this.aroundRecurrent(x, (input) =>
      this.attention(where).prefill(input, options as never),
    );
    return { y: y as tf.Tensor3D, state };
  }

  /** One position xt [B, D] after `state` (left untouched): y [B, D] and the next state. */
  step(
    xt: tf.Tensor,
    state: TransformerBlockState,
  ): { y: tf.Tensor2D; state: TransformerBlockState } {
    const where = 'TransformerBlock.step';
    const next = this.aroundRecurrent(xt, (input) =>
      this.attention(where).step(input, state as never),
    );
    return { y: next.y as tf.Tensor2D, state: next.state };
  }

  /**
   * The block around a recurrent call of its attention, in inference (no dropout): y, and the
   * state the attention returns, kept out of the tidy.
   */
  private aroundRecurrent(
    x: tf.Tensor,
    attend: (input: tf.Tensor) => { y: tf.Tensor; state: object },
  ): { y: tf.Tensor; state: TransformerBlockState } {
    let state: TransformerBlockState | undefined;
    const y = tf.tidy(() =>
      this.around(x, NO_DROPOUT, (input) => {
        const result = attend(input);
        state = result.state as TransformerBlockState;
        for (const part of Object.values(state)) tf.keep(part);
        return result.y;
      }),
    );
    return { y, state: state as TransformerBlockState };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      attention: this.attentionConfig as unknown as tf.serialization.ConfigDict,
      causal: this.causal,
      shortConv: this.attentionArgs.shortConv,
      outputGate: this.attentionArgs.outputGate,
      norm: this.norm,
      ffMultiplier: this.ffMultiplier,
      activation: this.activation,
      dropout: this.rate,
      recompute: this.recompute,
      ...super.getConfig(),
    };
  }

  /** The residual wiring around an attention function, the same for every form. */
  private around(
    x: tf.Tensor,
    drop: DropoutAt,
    attend: (input: tf.Tensor) => tf.Tensor,
  ): tf.Tensor {
    return this.feedForwardPart(this.attentionPart(x, drop, attend), drop);
  }

  /** Post-LN: h = LN₁(x + Dropout(Attention(x))); Pre-LN: h = x + Dropout(Attention(LN₁(x))). */
  private attentionPart(
    x: tf.Tensor,
    drop: DropoutAt,
    attend: (input: tf.Tensor) => tf.Tensor,
  ): tf.Tensor {
    if (this.norm === 'post') {
      return this.layerNorm('attention_norm', tf.add(x, drop(attend(x), 'attention')));
    }
    return tf.add(x, drop(attend(this.layerNorm('attention_norm', x)), 'attention'));
  }

  /** Post-LN: y = LN₂(h + Dropout(FFN(h))); Pre-LN: y = h + Dropout(FFN(LN₂(h))); y = h without one. */
  private feedForwardPart(h: tf.Tensor, drop: DropoutAt): tf.Tensor {
    if (!this.hasFeedForward) return h;
    if (this.norm === 'post') {
      const f = drop(this.feedForward(h, drop), 'feed_forward');
      return this.layerNorm('feed_forward_norm', tf.add(h, f));
    }
    const f = drop(this.feedForward(this.layerNorm('feed_forward_norm', h), drop), 'feed_forward');
    return tf.add(h, f);
  }

  private get hasFeedForward(): boolean {
    return 'feed_forward/expand/kernel' in this.own;
  }

  private feedForward(x: tf.Tensor, drop: DropoutAt): tf.Tensor {
    const read = (name: string) => this.own[name].read();
    const expanded = project(
      x,
      read('feed_forward/expand/kernel'),
      read('feed_forward/expand/bias'),
    );
    const activated = this.activation === 'gelu' ? gelu(expanded) : tf.relu(expanded);
    return project(
      drop(activated, 'feed_forward_hidden'),
      read('feed_forward/contract/kernel'),
      read('feed_forward/contract/bias'),
    );
  }

  private layerNorm(name: string, x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.own[`${name}/gain`].read(), this.own[`${name}/bias`].read(), EPSILON);
  }
}

tf.serialization.registerClass(TransformerBlock);

/**
 * One Transformer block around EA or softmax attention (tfjs-style factory):
 * `transformerBlockLayer({attention: {kind: 'ea', order: 6, groupSize: 8}, causal: true,
 * shortConv: 4})`. See {@link TransformerBlock}.
 */
export function transformerBlockLayer(args: TransformerBlockLayerArgs): TransformerBlock {
  return new TransformerBlock(args);
}
