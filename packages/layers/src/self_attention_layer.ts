import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  booleanField,
  checkOptions,
  type Initializer,
  type InitializerIdentifier,
  type Kwargs,
  kernelAndBiasInitializers,
  type LayerArgs,
  maskFromKwargs,
  serializeKernelAndBiasInitializers,
  singleInput,
} from './config.js';
import { describeValue, fail, formatShape } from './errors.js';
import { checkBatch, checkMask, checkSequence, checkStateParts, checkToken } from './inputs.js';
import { ElementwiseLayer, inputShapeOf } from './layer.js';
import { project } from './projection.js';
import { convolveAfter, convolveStep, emptyWindow, silu } from './short_convolution.js';

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
  /**
   * Kernel size (2–16) of a causal depthwise convolution, with SiLU, on q, k and v after their
   * projections (as in GLA, Mamba and Based): a query or key can then carry the last few
   * positions. 0 (default): none. Its weights start uniform in ±1/√size, its biases at 0.
   */
  shortConv?: number;
  /** Multiply what attention returns by `silu(x W_g + b_g)` before the output projection. Default false. */
  outputGate?: boolean;
}

/** Config keys every self-attention layer takes, for the subclasses' lists of known keys. */
export const SELF_ATTENTION_KEYS = [
  'causal',
  'useBias',
  'kernelInitializer',
  'biasInitializer',
  'shortConv',
  'outputGate',
] as const;

/**
 * The short convolutions' part of a recurrent state, present when `shortConv` > 0: the last
 * `shortConv - 1` projected queries, keys and values, each [B, shortConv - 1, width].
 */
export type ConvolutionWindows = {
  queryWindow?: tf.Tensor;
  keyWindow?: tf.Tensor;
  valueWindow?: tf.Tensor;
};

/** The projections that a short convolution follows, and their windows' names in a state. */
const CONVOLVED = ['query', 'key', 'value'] as const;
type Convolved = (typeof CONVOLVED)[number];
const WINDOW: Record<Convolved, keyof ConvolutionWindows> = {
  query: 'queryWindow',
  key: 'keyWindow',
  value: 'valueWindow',
};

/** q, k and v as a subclass attends them (projected, and convolved where configured). */
export type QKV = [tf.Tensor, tf.Tensor, tf.Tensor];

/** The projections, in the order their weights are made (and saved). */
export const PROJECTIONS = ['query', 'key', 'value', 'output'] as const;
export type Projection = (typeof PROJECTIONS)[number];

/**
 * What the EA layer and its softmax twin have in common: self-attention on x [B, L, D] between
 * four projections `query`, `key`, `value` and `output` (with the block options `shortConv` and
 * `outputGate` around any attention), a key padding mask that passes on unchanged, and beside
 * the graph a recurrent API over a state: the subclass's `Core` tensors by name, plus the
 * convolutions' windows (initState, prefill, step).
 * The base does the tfjs plumbing, the projections and every input check; a subclass says what
 * its projections' shapes are and how it attends q, k and v, through the protected hooks at the
 * end.
 */
export abstract class SelfAttentionLayer<
  Core extends Record<string, tf.Tensor>,
  PrefillOptions extends { mask?: tf.Tensor; state?: Core & ConvolutionWindows },
> extends ElementwiseLayer {
  readonly causal: boolean;
  readonly useBias: boolean;
  readonly shortConv: number;
  readonly outputGate: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private readonly kernels = new Map<Projection, tfl.LayerVariable>();
  private readonly biases = new Map<Projection, tfl.LayerVariable>();
  private readonly convolutions = new Map<
    Convolved,
    { kernel: tfl.LayerVariable; bias: tfl.LayerVariable }
  >();
  private gate: { kernel: tfl.LayerVariable; bias: tfl.LayerVariable | null } | null = null;
  /** D, once built. */
  protected channels: number | null = null;

  /** `config` has been through `checkConfig` with the subclass's own names. */
  protected constructor(factory: string, config: SelfAttentionLayerArgs) {
    super(config);
    this.causal = booleanField(factory, 'causal', config.causal, false);
    this.useBias = booleanField(factory, 'useBias', config.useBias, true);
    ({ kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer } =
      kernelAndBiasInitializers(factory, config));
    const shortConv = config.shortConv ?? 0;
    if (
      typeof shortConv !== 'number' ||
      !Number.isInteger(shortConv) ||
      shortConv === 1 ||
      shortConv < 0 ||
      shortConv > 16
    ) {
      fail(
        factory,
        `config.shortConv must be 0 (none) or an integer kernel size from 2 to 16, got ${describeValue(shortConv)}`,
      );
    }
    this.shortConv = shortConv;
    this.outputGate = booleanField(factory, 'outputGate', config.outputGate, false);
    this.supportsMasking = true;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const channels = this.checkInputShape(`${this.getClassName()}.build`, inputShape);
    const shapes = this.projectionShapes(channels);
    for (const projection of PROJECTIONS) {
      const shape = shapes[projection];
      this.kernels.set(
        projection,
        this.addTrainableWeight(`${projection}/kernel`, shape, this.kernelInitializer),
      );
      if (this.useBias) {
        this.biases.set(
          projection,
          this.addTrainableWeight(`${projection}/bias`, [shape[1]], this.biasInitializer),
        );
      }
    }
    if (this.shortConv > 0) {
      const limit = 1 / Math.sqrt(this.shortConv);
      const uniform = tfl.initializers.randomUniform({ minval: -limit, maxval: limit });
      for (const projection of CONVOLVED) {
        const width = shapes[projection][1];
        this.convolutions.set(projection, {
          kernel: this.addTrainableWeight(
            `${projection}_conv/kernel`,
            [this.shortConv, width],
            uniform,
          ),
          bias: this.addTrainableWeight(
            `${projection}_conv/bias`,
            [width],
            tfl.initializers.zeros(),
          ),
        });
      }
    }
    if (this.outputGate) {
      const attended = shapes.output[0];
      this.gate = {
        kernel: this.addTrainableWeight(
          'gate/kernel',
          [channels, attended],
          this.kernelInitializer,
        ),
        bias: this.useBias
          ? this.addTrainableWeight('gate/bias', [attended], this.biasInitializer)
          : null,
      };
    }
    this.channels = channels;
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    this.checkInputShape(`${this.getClassName()}.computeOutputShape`, inputShape);
    return inputShapeOf(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const where = `${this.getClassName()} '${this.name}'`;
      const x = checkSequence(where, singleInput(where, inputs), this.builtChannels());
      const mask = maskFromKwargs(kwargs);
      const [batch, length] = x.shape;
      const keys = mask === null ? undefined : checkMask(where, mask, batch, length);
      const qkv = this.projectQKVAfter(x, undefined).qkv;
      return this.finish(this.attend(qkv, keys), x);
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
      ...serializeKernelAndBiasInitializers(this.kernelInitializer, this.biasInitializer),
      shortConv: this.shortConv,
      outputGate: this.outputGate,
      ...super.getConfig(),
    };
  }

  /** The state of `batch` empty sequences, to {@link step} from. */
  initState(batch: number): Core & ConvolutionWindows {
    const where = `${this.getClassName()}.initState`;
    this.assertRecurrent(where);
    const size = checkBatch(where, batch);
    const core = this.emptyState(where, size);
    const windows: ConvolutionWindows = {};
    for (const [projection, weights] of this.convolutions) {
      windows[WINDOW[projection]] = emptyWindow(
        size,
        this.shortConv,
        weights.bias.shape[0] as number,
      );
    }
    return { ...core, ...windows };
  }

  /**
   * Runs the causal layer over x [B, L, D] in parallel after `state` (default: empty) and
   * returns y [B, L, D], equal to the layer's call over the whole sequence at those positions,
   * and the state after the last position, to continue with {@link step} or the next chunk.
   * Tensors in, new tensors out: `state` is left untouched; dispose both results yourself.
   */
  prefill(
    x: tf.Tensor,
    options?: PrefillOptions,
  ): { y: tf.Tensor3D; state: Core & ConvolutionWindows } {
    const where = `${this.getClassName()}.prefill`;
    this.assertRecurrent(where);
    const opts = checkOptions(where, options, ['mask', 'state']);
    const channels = this.ensureBuilt(where, x, 3);
    const input = checkSequence(where, x, channels);
    const [batch, length] = input.shape;
    const state =
      opts.state === undefined ? undefined : this.checkFullState(where, opts.state, batch);
    return tf.tidy(() => {
      const mask = opts.mask === undefined ? undefined : checkMask(where, opts.mask, batch, length);
      const { qkv, windows } = this.projectQKVAfter(input, state?.windows);
      const result = this.attendAfter(qkv, state?.core, mask);
      return {
        y: this.finish(result.attended, input) as tf.Tensor3D,
        state: { ...result.state, ...windows },
      };
    });
  }

  /**
   * One position: xt [B, D] and the state before it give y [B, D] (the causal call's output at
   * that position) and the state after it. `state` is left untouched: dispose it yourself when
   * you no longer need it (`tf.dispose(state)`).
   */
  step(
    xt: tf.Tensor,
    state: Core & ConvolutionWindows,
  ): { y: tf.Tensor2D; state: Core & ConvolutionWindows } {
    const where = `${this.getClassName()}.step`;
    this.assertRecurrent(where);
    const channels = this.ensureBuilt(where, xt, 2);
    const input = checkToken(where, xt, channels);
    const current = this.checkFullState(where, state, input.shape[0]);
    return tf.tidy(() => {
      const windows: ConvolutionWindows = {};
      const qkv = CONVOLVED.map((projection) => {
        const projected = this.projectOne(projection, input);
        const convolution = this.convolutions.get(projection);
        if (!convolution) return projected;
        const window = current.windows[WINDOW[projection]] as tf.Tensor;
        const result = convolveStep(projected as tf.Tensor2D, this.weightsOf(convolution), window);
        windows[WINDOW[projection]] = result.window;
        return result.y;
      }) as QKV;
      const result = this.attendOne(qkv, current.core);
      return {
        y: this.finish(result.attended, input) as tf.Tensor2D,
        state: { ...result.state, ...windows },
      };
    });
  }

  /**
   * The queries and keys the layer's attention compares for x [B, L, D] — after the
   * projections, the short convolutions and (EA) the q/k normalization — as [B, L, width]
   * (softmax: the heads side by side). For looking at what the layer attends to; dispose both.
   */
  queriesAndKeys(x: tf.Tensor): { query: tf.Tensor3D; key: tf.Tensor3D } {
    const where = `${this.getClassName()}.queriesAndKeys`;
    const channels = this.ensureBuilt(where, x, 3);
    const input = checkSequence(where, x, channels);
    return tf.tidy(() => {
      const [query, key] = this.compared(this.projectQKVAfter(input, undefined).qkv);
      return { query: query as tf.Tensor3D, key: key as tf.Tensor3D };
    });
  }

  /** q, k, v as the attention compares them; the projections' own by default. */
  protected compared(qkv: QKV): QKV {
    return qkv;
  }

  /** y = x·kernel (+ bias) of one projection. */
  protected projectOne(projection: Projection, x: tf.Tensor): tf.Tensor {
    const kernel = this.kernels.get(projection)!.read();
    const bias = this.biases.get(projection)?.read() ?? null;
    return project(x, kernel, bias);
  }

  /**
   * q, k, v of x [B, L, D], through the short convolutions where configured (continuing from
   * `windows`, zeros by default), and the windows after x.
   */
  private projectQKVAfter(
    x: tf.Tensor3D,
    windows: ConvolutionWindows | undefined,
  ): { qkv: QKV; windows: ConvolutionWindows } {
    const next: ConvolutionWindows = {};
    const [batch, length, channels] = x.shape;
    // One [B · L, D] view of x for the three projections, rather than one each.
    const rows = tf.reshape(x, [batch * length, channels]);
    const qkv = CONVOLVED.map((projection) => {
      const flat = this.projectOne(projection, rows);
      const projected = tf.reshape(flat, [batch, length, flat.shape[1] as number]) as tf.Tensor3D;
      const convolution = this.convolutions.get(projection);
      if (!convolution) return projected;
      const result = convolveAfter(
        projected,
        this.weightsOf(convolution),
        windows?.[WINDOW[projection]],
      );
      next[WINDOW[projection]] = result.window;
      return result.y;
    }) as QKV;
    return { qkv, windows: next };
  }

  private weightsOf(convolution: { kernel: tfl.LayerVariable; bias: tfl.LayerVariable }) {
    return { kernel: convolution.kernel.read(), bias: convolution.bias.read() };
  }

  /** The output projection of what attention returned, gated by `silu(x W_g + b_g)` if configured. */
  private finish(attended: tf.Tensor, x: tf.Tensor): tf.Tensor {
    if (this.gate === null) return this.projectOne('output', attended);
    const gate = silu(project(x, this.gate.kernel.read(), this.gate.bias?.read() ?? null));
    return this.projectOne('output', tf.mul(attended, gate));
  }

  /** A state given by the user, split into the subclass's part and the windows, each checked. */
  private checkFullState(
    where: string,
    state: unknown,
    batch: number,
  ): { core: Core; windows: ConvolutionWindows } {
    const core = this.checkState(where, 'state', state, batch);
    if (this.convolutions.size === 0) return { core, windows: {} };
    const expected: Partial<
      Record<keyof ConvolutionWindows, { shape: number[]; symbolic: string }>
    > = {};
    for (const [projection, weights] of this.convolutions) {
      expected[WINDOW[projection]] = {
        shape: [batch, this.shortConv - 1, weights.bias.shape[0] as number],
        symbolic: `[B, shortConv - 1, ${projection} width]`,
      };
    }
    const windows = checkStateParts(
      where,
      'state',
      state,
      expected as Record<keyof ConvolutionWindows, { shape: number[]; symbolic: string }>,
    );
    return { core, windows };
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

  /**
   * The layer's call: attention of q, k, v [B, L, width] under a key mask [B, L] (float 0/1),
   * as [B, L, output width] before the output projection.
   */
  protected abstract attend(qkv: QKV, mask: tf.Tensor2D | undefined): tf.Tensor;

  /** {@link prefill}'s attention after the subclass's state, inside a tidy. */
  protected abstract attendAfter(
    qkv: QKV,
    state: Core | undefined,
    mask: tf.Tensor2D | undefined,
  ): { attended: tf.Tensor; state: Core };

  /** {@link step}'s attention of one position (q, k, v [B, width]), inside a tidy. */
  protected abstract attendOne(qkv: QKV, state: Core): { attended: tf.Tensor; state: Core };

  /** {@link initState}'s part for the subclass, after the checks. */
  protected abstract emptyState(where: string, batch: number): Core;

  /** Checks that the subclass's part of a state given by the user fits this layer and `batch`. */
  protected abstract checkState(where: string, name: string, state: unknown, batch: number): Core;

  /** Validates an input shape [B, L, D] (B and L may be null) and returns D. */
  private checkInputShape(where: string, inputShape: tfl.Shape | tfl.Shape[]): number {
    const shape = inputShapeOf(inputShape);
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
