import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** [B, L, D] → [B, D]: the last position of each sequence (a causal forecaster's summary). */
export class LastPosition extends tfl.layers.Layer {
  static className = 'ElementwiseLastPosition';

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [shape[0], shape[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [batch, length, channels] = x.shape;
      return tf.reshape(tf.slice(x, [0, length - 1, 0], [batch, 1, channels]), [batch, channels]);
    });
  }
}

tf.serialization.registerClass(LastPosition);
