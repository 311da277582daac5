import { dropoutOf, sinusoidalFrequency } from '@elementwise/layers';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

interface TimeEmbeddingArgs {
  /** Sets the slowest channel's initial frequency (1 / maxLength). */
  maxLength: number;
  /** Dropout on the sum, in training. */
  dropout?: number;
  name?: string;
}

type Kwargs = Parameters<tfl.layers.Layer['call']>[1];

/**
 * A learned embedding of (possibly irregular) sampling times (Time2Vec, Kazemi et al.): inputs
 * `[x [B, L, D], times [B, L]]`, or x alone for evenly spaced steps 0 .. L − 1, give
 * x + [ω₀τ + φ₀, sin(ω_c τ + φ_c)…] with τ the time since the window's first step — only the
 * spacing matters, so a window far into a series stays in the range the model was trained on.
 * Starts as the sinusoidal encoding (with a linear channel 0); weights `frequencies` and
 * `phases` [D]. Beside the graph, {@link at} embeds evenly spaced steps from any start.
 */
export class TimeEmbedding extends tfl.layers.Layer {
  static className = 'ElementwiseTimeEmbedding';

  readonly maxLength: number;
  readonly rate: number;
  private frequencies: tfl.LayerVariable | null = null;
  private phases: tfl.LayerVariable | null = null;

  constructor(args: TimeEmbeddingArgs) {
    super({ name: args.name });
    this.maxLength = args.maxLength;
    this.rate = args.dropout ?? 0;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const channels = shape[shape.length - 1] as number;
    const omega = Float32Array.from({ length: channels }, (_, c) =>
      c === 0 ? 1 / this.maxLength : sinusoidalFrequency(c, channels),
    );
    const phi = Float32Array.from({ length: channels }, (_, c) => (c % 2 === 1 ? Math.PI / 2 : 0));
    const zeros = tfl.initializers.zeros();
    this.frequencies = this.addWeight('frequencies', [channels], 'float32', zeros);
    this.phases = this.addWeight('phases', [channels], 'float32', zeros);
    tf.tidy(() => {
      this.frequencies?.write(tf.tensor1d(omega));
      this.phases?.write(tf.tensor1d(phi));
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const [x, times] = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor[];
      const tau =
        times === undefined
          ? tf.reshape(tf.range(0, x.shape[1] as number, 1, 'float32'), [1, -1, 1])
          : tf.expandDims(tf.sub(times, tf.slice(times, [0, 0], [-1, 1])), 2);
      const drop = dropoutOf(this.name, `TimeEmbedding '${this.name}'`, kwargs, this.rate);
      return drop(tf.add(x, this.embed(tau)), 'embedding');
    });
  }

  /** x [B, L, D] (or one step [B, D]) plus the embedding of steps start, start + 1, …. */
  at(x: tf.Tensor, start: number): tf.Tensor {
    return tf.tidy(() => {
      const length = x.rank === 2 ? 1 : (x.shape[1] as number);
      const tau = tf.reshape(tf.range(start, start + length, 1, 'float32'), [1, length, 1]);
      const embedded = this.embed(tau);
      return x.rank === 2 ? tf.add(x, tf.squeeze(embedded, [1])) : tf.add(x, embedded);
    });
  }

  /** τ [B or 1, L, 1] → its embedding [B or 1, L, D]. */
  private embed(tau: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const frequencies = (this.frequencies as tfl.LayerVariable).read();
      const angles = tf.add(tf.mul(tau, frequencies), (this.phases as tfl.LayerVariable).read());
      const channels = frequencies.shape[0] as number;
      const linear = tf.slice(angles, [0, 0, 0], [-1, -1, 1]);
      const periodic = tf.sin(tf.slice(angles, [0, 0, 1], [-1, -1, channels - 1]));
      return tf.concat([linear, periodic], 2);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { maxLength: this.maxLength, dropout: this.rate, ...super.getConfig() };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls({ maxLength: config.maxLength, dropout: config.dropout, name: config.name });
  }
}

tf.serialization.registerClass(TimeEmbedding);
