import * as tf from '@tensorflow/tfjs-core';
import { Linear } from '../layers/linear.js';
import { ShortConvolution, silu } from '../layers/short_convolution.js';
import type { ParameterStore } from '../parameters.js';

/** Block options around any attention (EA or softmax), so every EA model keeps its twin. */
export interface ProjectionOptions {
  /** Kernel size of a causal depthwise convolution on q, k and v; 0 for none. */
  shortConv: number;
  /** Whether the attention output is gated by silu(x W_g + b_g) before the output projection. */
  outputGate: boolean;
}

export type QKV = [tf.Tensor, tf.Tensor, tf.Tensor];

/**
 * The learned maps around an attention: q, k, v = x W + b (each optionally through a short
 * convolution), and y = (attended ⊙ gate(x)) W_o + b_o. The convolutions' windows are the only
 * state they add to generation, one [B, shortConv - 1, dModel] tensor per convolution.
 */
export class AttentionProjections {
  private readonly linear: Linear[];
  private readonly convolutions: ShortConvolution[];
  private readonly gate: Linear | null;
  private readonly output: Linear;

  constructor(store: ParameterStore, name: string, dModel: number, options: ProjectionOptions) {
    const roles = ['query', 'key', 'value'];
    this.linear = roles.map((role) => new Linear(store, `${name}/${role}`, dModel, dModel));
    this.convolutions =
      options.shortConv > 0
        ? roles.map(
            (role) =>
              new ShortConvolution(store, `${name}/${role}_conv`, dModel, options.shortConv),
          )
        : [];
    this.gate = options.outputGate ? new Linear(store, `${name}/gate`, dModel, dModel) : null;
    this.output = new Linear(store, `${name}/output`, dModel, dModel);
  }

  /** q, k, v of a whole sequence [B, L, dModel]. */
  qkv(x: tf.Tensor3D): QKV {
    return this.linear.map((map, i) => {
      const projected = map.apply(x) as tf.Tensor3D;
      return this.convolutions.length > 0 ? this.convolutions[i].apply(projected) : projected;
    }) as QKV;
  }

  /** {@link qkv}, plus the convolution windows that {@link stepQKV} continues from. */
  prefillQKV(x: tf.Tensor3D): { qkv: QKV; windows: tf.Tensor[] } {
    if (this.convolutions.length === 0) return { qkv: this.qkv(x), windows: [] };
    const windows: tf.Tensor[] = [];
    const qkv = this.linear.map((map, i) => {
      const result = this.convolutions[i].prefill(map.apply(x) as tf.Tensor3D);
      windows.push(result.window);
      return result.y;
    }) as QKV;
    return { qkv, windows };
  }

  /** q, k, v of one position [B, dModel] after `windows` (left untouched), and the next windows. */
  stepQKV(xt: tf.Tensor2D, windows: tf.Tensor[]): { qkv: QKV; windows: tf.Tensor[] } {
    if (this.convolutions.length === 0) {
      return { qkv: this.linear.map((map) => map.apply(xt)) as QKV, windows: [] };
    }
    const next: tf.Tensor[] = [];
    const qkv = this.linear.map((map, i) => {
      const result = this.convolutions[i].step(
        map.apply(xt) as tf.Tensor2D,
        windows[i] as tf.Tensor3D,
      );
      next.push(result.window);
      return result.y;
    }) as QKV;
    return { qkv, windows: next };
  }

  /** The attention's output for `attended` (same shape as the input `x`). */
  project(attended: tf.Tensor, x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const gated = this.gate ? tf.mul(attended, silu(this.gate.apply(x))) : attended;
      return this.output.apply(gated);
    });
  }
}
