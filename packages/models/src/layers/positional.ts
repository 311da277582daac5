import * as tf from '@tensorflow/tfjs-core';
import type { ParameterStore } from '../parameters.js';

/** Angular frequency of channel pair i in the sinusoidal encoding (Vaswani et al.). */
function frequency(channel: number, dModel: number): number {
  return 1 / 10000 ** ((2 * Math.floor(channel / 2)) / dModel);
}

/** sin on even channels, cos on odd ones, for positions start .. start + length - 1: [length, d]. */
export function sinusoidalTable(start: number, length: number, dModel: number): Float32Array {
  const table = new Float32Array(length * dModel);
  for (let p = 0; p < length; p++) {
    for (let c = 0; c < dModel; c++) {
      const angle = (start + p) * frequency(c, dModel);
      table[p * dModel + c] = c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return table;
}

/**
 * Absolute positional embedding added to the inputs. Returns [1, length, d] for positions
 * start .. start + length - 1, or [B, length, d] when per-example times [B, length] are given
 * (the `'time'` kind; without times it uses the positions as times).
 */
export interface PositionalEmbedding {
  apply(start: number, length: number, times?: tf.Tensor2D): tf.Tensor3D;
}

export class SinusoidalPositions implements PositionalEmbedding {
  constructor(private readonly dModel: number) {}

  apply(start: number, length: number): tf.Tensor3D {
    return tf.tensor3d(sinusoidalTable(start, length, this.dModel), [1, length, this.dModel]);
  }
}

/** One learned row per position < maxLength. */
export class LearnedPositions implements PositionalEmbedding {
  private readonly table: tf.Variable;

  constructor(
    store: ParameterStore,
    private readonly dModel: number,
    private readonly maxLength: number,
  ) {
    this.table = store.create('positional/table', {
      shape: [maxLength, dModel],
      init: { normal: 0.1 },
      decay: false,
    });
  }

  apply(start: number, length: number): tf.Tensor3D {
    if (start + length > this.maxLength) {
      throw new Error(
        `learned positions: positions ${start}..${start + length - 1} exceed maxLength ${this.maxLength}`,
      );
    }
    return tf.tidy(() =>
      tf.reshape(tf.slice(this.table, [start, 0], [length, this.dModel]), [1, length, this.dModel]),
    );
  }
}

/**
 * Time2Vec-style embedding of timestamps τ (Kazemi et al. 2019): channel 0 is linear,
 * ω₀τ + φ₀, and channel c > 0 is periodic, sin(ω_c τ + φ_c), with ω and φ learned. It starts as
 * the sinusoidal encoding of τ (φ alternates 0 and π/2) with a linear channel of slope
 * 1/maxLength, so τ in units of one step is a good scale. Given times are taken relative to the
 * first time of each sequence (τ − τ₀); calendar effects (hour of day, …) belong in input
 * channels.
 */
export class TimeEmbedding implements PositionalEmbedding {
  private readonly frequencies: tf.Variable;
  private readonly phases: tf.Variable;

  constructor(
    store: ParameterStore,
    private readonly dModel: number,
    maxLength: number,
  ) {
    this.frequencies = store.create('positional/frequencies', {
      shape: [dModel],
      init: 'zeros',
      decay: false,
    });
    this.phases = store.create('positional/phases', {
      shape: [dModel],
      init: 'zeros',
      decay: false,
    });
    const omega = Float32Array.from({ length: dModel }, (_, c) =>
      c === 0 ? 1 / maxLength : frequency(c, dModel),
    );
    const phi = Float32Array.from({ length: dModel }, (_, c) => (c % 2 === 1 ? Math.PI / 2 : 0));
    tf.tidy(() => {
      this.frequencies.assign(tf.tensor1d(omega));
      this.phases.assign(tf.tensor1d(phi));
    });
  }

  apply(start: number, length: number, times?: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      // Times count from the window's first step: only the spacing matters, so the embedding
      // stays in the range it was trained on however far into a series a window lies.
      const tau: tf.Tensor3D = times
        ? tf.expandDims(tf.sub(times, tf.slice(times, [0, 0], [-1, 1])), 2)
        : tf.reshape(tf.range(start, start + length, 1, 'float32'), [1, length, 1]);
      const angles = tf.add(tf.mul(tau, this.frequencies), this.phases) as tf.Tensor3D;
      const linear = tf.slice(angles, [0, 0, 0], [-1, -1, 1]);
      const periodic = tf.sin(tf.slice(angles, [0, 0, 1], [-1, -1, this.dModel - 1]));
      return tf.concat([linear, periodic], 2) as tf.Tensor3D;
    });
  }
}
