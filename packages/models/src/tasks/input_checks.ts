import * as tf from '@tensorflow/tfjs-core';
import { describeValue } from '../options.js';

/** Checks a [B, L, channels] float input against the model's channels and maxLength. */
export function checkSequenceInput(
  where: string,
  inputs: tf.Tensor,
  channels: number,
  maxLength: number,
): asserts inputs is tf.Tensor3D {
  if (!(inputs instanceof tf.Tensor)) {
    throw new Error(
      `${where}: inputs must be a float32 tf.Tensor3D [B, L, ${channels}], got ${describeValue(inputs)}`,
    );
  }
  if (inputs.isDisposed) throw new Error(`${where}: inputs has been disposed`);
  const shape = `[${inputs.shape.join(', ')}]`;
  if (inputs.rank !== 3) {
    throw new Error(`${where}: inputs must have shape [B, L, ${channels}] (rank 3), got ${shape}`);
  }
  const [batch, length, given] = inputs.shape;
  if (given !== channels) {
    throw new Error(
      `${where}: inputs must have shape [B, L, ${channels}] (inputChannels = ${channels}), got ${shape}`,
    );
  }
  if (batch < 1 || length < 1 || length > maxLength) {
    throw new Error(
      `${where}: inputs must have B >= 1 and 1 <= L <= maxLength = ${maxLength}, got ${shape}`,
    );
  }
  if (inputs.dtype !== 'float32') {
    throw new Error(`${where}: inputs must have dtype float32, got ${inputs.dtype}`);
  }
}
