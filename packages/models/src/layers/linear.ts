import * as tf from '@tensorflow/tfjs-core';
import type { ParameterStore } from '../parameters.js';
import { matMulUnflagged } from './matmul.js';

/** y = x W + b over the last axis of x (any rank >= 1). */
export class Linear {
  private readonly kernel: tf.Variable;
  private readonly bias: tf.Variable | null;

  constructor(
    store: ParameterStore,
    name: string,
    readonly inputSize: number,
    readonly outputSize: number,
    options: { bias?: boolean } = {},
  ) {
    this.kernel = store.create(`${name}/kernel`, {
      shape: [inputSize, outputSize],
      init: 'glorot-uniform',
      decay: true,
    });
    this.bias =
      options.bias === false
        ? null
        : store.create(`${name}/bias`, { shape: [outputSize], init: 'zeros', decay: false });
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, this.inputSize]);
      let y: tf.Tensor = matMulUnflagged(flat as tf.Tensor2D, this.kernel as tf.Tensor2D);
      if (this.bias) y = tf.add(y, this.bias);
      return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.outputSize]);
    });
  }
}
