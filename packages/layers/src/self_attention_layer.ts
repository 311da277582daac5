import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  booleanField,
  checkOptions,
  type Initializer,
  type InitializerIdentifier,
  initializerField,
  type Kwargs,
  type LayerArgs,
  maskFromKwargs,
  serializeInitializer,
  singleInput,
} from './config.js';
import { describeValue, fail, formatShape } from './errors.js';
import { checkBatch, checkMask, checkSequence, checkToken } from './inputs.js';
import { project } from './projection.js';

/** The settings every self-attention layer of this package takes beside its own. */
export interface SelfAttentionLayerArgs extends LayerArgs {
  /** Query i sees keys j <= i (language models, forecasting). Default false. */
  causal?: boolean;
  /** Add a bias to each of the four projections. Default true. */
  useBias?: boolean;
  /** Initializer of the four projection kernels. Default `'glorotUniform'`. */
  kernelInitializer?: InitializerIdentifier;
  /** Initializer of the biases. Default `'zeros'`. */
  biasInitializer?: InitializerIdentifier;
}

/** The projections, in the order their weights are made (and saved). */
export const PROJECTIONS = ['query', 'key', 'value', 'output'] as const;
export type Projection = (typeof PROJECTIONS)[number];

/**
 * What the EA layer and its softmax twin have in common: self-attention on x [B, L, D] between
 * four projections `query`, `key`, `value` and `output`, a key padding mask that passes on
 * unchanged, and beside the graph a recurrent API over a `State`, its tensors by name
 * (initState, prefill, step).
 * The base does the tfjs plumbing and every input check; a subclass says what its projections'
 * shapes are and how it attends, through the protected hooks at the end.
 */
export abstract class SelfAttentionLayer<
  State extends Record<string, tf.Tensor>,
  PrefillOptions extends { mask?: tf.Tensor; state?: State },
> extends tfl.layers.Layer {
  readonly causal: boolean;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private readonly kernels = new Map<Projection, tfl.LayerVariable>();
  private readonly biases = new Map<Projection, tfl.LayerVariable>();
  /** D, once built. */
  protected channels: number | null = null;

  /** `config` has been through `checkConfig` with the subclass's own names. */
  protected constructor(factory: string, config: SelfAttentionLayerArgs) {
    super(config);
    this.causal = booleanField(factory, 'causal', config.causal, false);
    this.useBias = booleanField(factory, 'useBias', config.useBias, true);
    this.kernelInitializer = initializerField(
      factory,
      'kernelInitializer',
      config.kernelInitializer,
      'glorotUniform',
    );
    this.biasInitializer = initializerField(
      factory,
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
    const shapes = this.projectionShapes(channels);
    for (const projection of PROJECTIONS) {
      const shape = shapes[projection];
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
      const mask = maskFromKwargs(kwargs);
      const [batch, length] = x.shape;
      return this.attend(x, mask === null ? undefined : checkMask(where, mask, batch, length));
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
      causal: this.causal,
      useBias: this.useBias,
      kernelInitializer: serializeInitializer(this.kernelInitializer),
      biasInitializer: serializeInitializer(this.biasInitializer),
      ...super.getConfig(),
    };
  }

  /** The state of `batch` empty sequences, to {@link step} from. */
  initState(batch: number): State {
    const where = `${this.getClassName()}.initState`;
    this.assertRecurrent(where);
    return this.emptyState(where, checkBatch(where, batch));
  }

  /**
   * Runs the causal layer over x [B, L, D] in parallel after `state` (default: empty) and
   * returns y [B, L, D], equal to the layer's call over the whole sequence at those positions,
   * and the state after the last position, to continue with {@link step} or the next chunk.
   * Tensors in, new tensors out: `state` is left untouched; dispose both results yourself.
   */
  prefill(x: tf.Tensor, options?: PrefillOptions): { y: tf.Tensor3D; state: State } {
    const where = `${this.getClassName()}.prefill`;
    this.assertRecurrent(where);
    const opts = checkOptions(where, options, ['mask', 'state']);
    const channels = this.ensureBuilt(where, x, 3);
    const input = checkSequence(where, x, channels);
    const [batch, length] = input.shape;
    const state =
      opts.state === undefined ? undefined : this.checkState(where, 'state', opts.state, batch);
    return tf.tidy(() => {
      const mask = opts.mask === undefined ? undefined : checkMask(where, opts.mask, batch, length);
      return this.attendAfter(input, state, mask);
    });
  }

  /**
   * One position: xt [B, D] and the state before it give y [B, D] (the causal call's output at
   * that position) and the state after it. `state` is left untouched: dispose it yourself when
   * you no longer need it (`tf.dispose(state)`).
   */
  step(xt: tf.Tensor, state: State): { y: tf.Tensor2D; state: State } {
    const where = `${this.getClassName()}.step`;
    this.assertRecurrent(where);
    const channels = this.ensureBuilt(where, xt, 2);
    const input = checkToken(where, xt, channels);
    const current = this.checkState(where, 'state', state, input.shape[0]);
    return tf.tidy(() => this.attendOne(input, current));
  }

  /** y = x·kernel (+ bias) of one projection. */
  protected projectOne(projection: Projection, x: tf.Tensor): tf.Tensor {
    const kernel = this.kernels.get(projection)!.read();
    const bias = this.biases.get(projection)?.read() ?? null;
    return project(x, kernel, bias);
  }

  protected builtChannels(): number {
    if (this.channels === null) fail(this.getClassName(), 'the layer is not built');
    return this.channels;
  }

  /** Fails where the recurrent API has no meaning for this layer's config. */
  protected assertRecurrent(where: string): void {
    if (!this.causal) {
      fail(where, 'needs a causal layer (construct it with causal: true); this one is not causal');
    }
  }

  /** Checks D beyond being a positive size, before the layer is built from it. */
  protected checkChannels(_where: string, _channels: number): void {}

  /** The [in, out] shape of each projection's kernel for inputs of D = `channels`. */
  protected abstract projectionShapes(channels: number): Record<Projection, [number, number]>;

  /** The layer's call on a checked x [B, L, D] and key mask [B, L] (float 0/1). */
  protected abstract attend(x: tf.Tensor3D, mask: tf.Tensor2D | undefined): tf.Tensor;

  /** {@link prefill} on checked inputs, inside a tidy. */
  protected abstract attendAfter(
    x: tf.Tensor3D,
    state: State | undefined,
    mask: tf.Tensor2D | undefined,
  ): { y: tf.Tensor3D; state: State };

  /** {@link step} on checked inputs, inside a tidy. */
  protected abstract attendOne(xt: tf.Tensor2D, state: State): { y: tf.Tensor2D; state: State };

  /** {@link initState} after the checks. */
  protected abstract emptyState(where: string, batch: number): State;

  /** Checks that a state given by the user fits this layer and `batch`. */
  protected abstract checkState(where: string, name: string, state: unknown, batch: number): State;

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
    this.checkChannels(where, channels);
    if (this.channels !== null && channels !== this.channels) {
      fail(
        where,
        `input shape must be [B, L, ${this.channels}] as the layer was built for, got ${formatShape(shape)}`,
      );
    }
    return channels;
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
}
