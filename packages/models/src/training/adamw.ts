import * as tf from '@tensorflow/tfjs-core';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay (Loshchilov & Hutter), applied only to variables marked `decay`. */
  weightDecay?: number;
}

/**
 * Adam with decoupled weight decay:
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
 *   θ ← θ − lr · ( m̂ / (√v̂ + ε) + λθ )   (λθ only where decay applies).
 * The learning rate is given per step, so any schedule can drive it.
 */
export class AdamW {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly weightDecay: number;
  private readonly moments = new Map<tf.Variable, { m: tf.Variable; v: tf.Variable }>();
  private iterations = 0;

  constructor(
    private readonly parameters: Array<{ variable: tf.Variable; decay: boolean }>,
    options: AdamWOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const { variable } of parameters) {
      this.moments.set(
        variable,
        tf.tidy(() => ({
          m: tf.variable(tf.zerosLike(variable), false),
          v: tf.variable(tf.zerosLike(variable), false),
        })),
      );
    }
  }

  /** Applies one update from gradients keyed by variable name. */
  apply(gradients: tf.NamedTensorMap, learningRate: number): void {
    this.iterations++;
    const correction1 = 1 - this.beta1 ** this.iterations;
    const correction2 = 1 - this.beta2 ** this.iterations;
    tf.tidy(() => {
      for (const { variable, decay } of this.parameters) {
        const gradient = gradients[variable.name];
        if (!gradient) continue;
        const { m, v } = this.moments.get(variable)!;
        const nextM = tf.add(tf.mul(m, this.beta1), tf.mul(gradient, 1 - this.beta1));
        const nextV = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(gradient), 1 - this.beta2));
        m.assign(nextM);
        v.assign(nextV);
        let update = tf.div(
          tf.div(nextM, correction1),
          tf.add(tf.sqrt(tf.div(nextV, correction2)), this.epsilon),
        );
        if (decay && this.weightDecay > 0)
          update = tf.add(update, tf.mul(variable, this.weightDecay));
        variable.assign(tf.sub(variable, tf.mul(update, learningRate)));
      }
    });
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
    this.moments.clear();
  }
}
