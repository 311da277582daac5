import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  booleanField,
  checkConfig,
  type Initializer,
  type InitializerIdentifier,
  type Kwargs,
  kernelAndBiasInitializers,
  type LayerArgs,
  positiveIntegerField,
  serializeKernelAndBiasInitializers,
  singleInput,
} from './config.js';
import { fail, formatShape } from './errors.js';
import { ElementwiseLayer, inputShapeOf } from './layer.js';
import { project } from './projection.js';

export interface LinearLayerArgs extends LayerArgs {
  /** Output width. Required. */
  units: number;
  /** Add a bias. Default true. */
  useBias?: boolean;
  /** Default `'glorotUniform'`. */
  kernelInitializer?: InitializerIdentifier;
  /** Default `'zeros'`. */
  biasInitializer?: InitializerIdentifier;
}

const FACTORY = 'linearLayer';
const CONFIG_KEYS = ['units', 'useBias', 'kernelInitializer', 'biasInitializer'] as const;

/**
 * y = x·kernel + bias over the last axis, for inputs of any rank >= 2: what `tf.layers.dense`
 * computes without an activation, with a backward whose matMuls carry no transpose flags. On
 * tfjs-wasm a flagged matMul leaves XNNPACK for a loop several times slower, and a language
 * model's input and output projections run over every position of every sequence of a batch.
 * Weights `kernel` [in, units] and `bias` [units]. A padding mask passes through.
 */
export class Linear extends ElementwiseLayer {
  static className = 'Linear';

  readonly units: number;
  readonly useBias: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private kernel: tfl.LayerVariable | null = null;
  private bias: tfl.LayerVariable | null = null;

  constructor(args: LinearLayerArgs) {
    if (args === undefined) fail(FACTORY, 'config is required, e.g. {units: 64}');
    const config = checkConfig<LinearLayerArgs>(FACTORY, args, CONFIG_KEYS);
    super(config);
    this.units = positiveIntegerField(FACTORY, 'units', config.units);
    this.useBias = booleanField(FACTORY, 'useBias', config.useBias, true);
    ({ kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer } =
      kernelAndBiasInitializers(FACTORY, config));
    this.supportsMasking = true;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = inputShapeOf(inputShape);
    const inputs = shape[shape.length - 1];
    if (shape.length < 2 || typeof inputs !== 'number' || inputs < 1) {
      fail(
        'Linear.build',
        `input shape must be [..., in] of rank >= 2 with a known last axis, got ${formatShape(shape)}`,
      );
    }
    this.kernel = this.addTrainableWeight('kernel', [inputs, this.units], this.kernelInitializer);
    if (this.useBias) {
      this.bias = this.addTrainableWeight('bias', [this.units], this.biasInitializer);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = inputShapeOf(inputShape);
    return [...shape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const where = `Linear '${this.name}'`;
      const x = singleInput(where, inputs);
      const kernel = (this.kernel as tfl.LayerVariable).read();
      if (x.rank < 2 || x.shape[x.rank - 1] !== kernel.shape[0]) {
        fail(where, `x must have shape [..., ${kernel.shape[0]}], got ${formatShape(x.shape)}`);
      }
      return project(x, kernel, this.bias?.read() ?? null);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      units: this.units,
      useBias: this.useBias,
      ...serializeKernelAndBiasInitializers(this.kernelInitializer, this.biasInitializer),
      ...super.getConfig(),
    };
  }
}

tf.serialization.registerClass(Linear);

/**
 * A linear map over the last axis (tfjs-style factory): `linearLayer({units: 64})`, the dense
 * layer without activation, fast to train on tfjs-wasm. See {@link Linear}.
 */
export function linearLayer(args: LinearLayerArgs): Linear {
  return new Linear(args);
}
