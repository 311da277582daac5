import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Initializer } from './config.js';

/**
 * The base of this package's layers: a `tf.layers.Layer` whose configs hold only the layer's own
 * settings. tfjs adds its custom-object table to every config it deserializes; the layers'
 * strict config checks would refuse it as an unknown key.
 */
export abstract class ElementwiseLayer extends tfl.layers.Layer {
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const { customObjects: _, ...own } = config;
    return new cls(own);
  }

  /** A float32 weight that training updates: what every weight of this package's layers is. */
  protected addTrainableWeight(
    name: string,
    shape: number[],
    initializer: Initializer,
  ): tfl.LayerVariable {
    return this.addWeight(name, shape, 'float32', initializer, undefined, true);
  }
}

/** The shape of a layer's one input, whether tfjs passes it alone or in a list. */
export function inputShapeOf(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
}
