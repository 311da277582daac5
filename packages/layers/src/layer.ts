import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

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
}
