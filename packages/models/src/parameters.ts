import * as tf from '@tensorflow/tfjs-core';
import type { SeededRandom } from './random.js';

/** How a parameter starts and whether AdamW's decoupled weight decay applies to it. */
export interface ParameterSpec {
  shape: number[];
  init: 'glorot-uniform' | 'zeros' | 'ones' | { normal: number } | { uniform: number };
  /** Weight decay applies to matrices of linear maps only, never to biases, norm gains or embeddings. */
  decay: boolean;
}

let instances = 0;

/**
 * The named variables of one model. Names are stable paths (`block_0/attention/query/kernel`)
 * used for saving and loading; the tfjs variables get an instance prefix because tfjs variable
 * names are global and two models may coexist.
 */
export class ParameterStore {
  private readonly variables = new Map<string, tf.Variable>();
  private readonly decayFlags = new Map<string, boolean>();
  private readonly prefix = `elementwise_model_${instances++}`;

  constructor(private readonly random: SeededRandom) {}

  create(name: string, spec: ParameterSpec): tf.Variable {
    if (this.variables.has(name)) throw new Error(`parameter ${name} is defined twice`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    const { init } = spec;
    if (init === 'ones') values.fill(1);
    else if (init === 'glorot-uniform') {
      const [fanIn, fanOut] = [spec.shape[0], spec.shape[spec.shape.length - 1]];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) values[i] = (2 * this.random.next() - 1) * limit;
    } else if (typeof init === 'object' && 'normal' in init) {
      for (let i = 0; i < size; i++) values[i] = this.random.nextNormal() * init.normal;
    } else if (typeof init === 'object') {
      for (let i = 0; i < size; i++) values[i] = (2 * this.random.next() - 1) * init.uniform;
    }
    const variable = tf.tidy(() =>
      tf.variable(tf.tensor(values, spec.shape, 'float32'), true, `${this.prefix}/${name}`),
    );
    this.variables.set(name, variable);
    this.decayFlags.set(name, spec.decay);
    return variable;
  }

  get(name: string): tf.Variable {
    const variable = this.variables.get(name);
    if (!variable) throw new Error(`no parameter named ${name}`);
    return variable;
  }

  names(): string[] {
    return [...this.variables.keys()];
  }

  entries(): Array<[string, tf.Variable]> {
    return [...this.variables.entries()];
  }

  decays(name: string): boolean {
    return this.decayFlags.get(name) ?? false;
  }

  count(): number {
    let total = 0;
    for (const variable of this.variables.values()) total += variable.size;
    return total;
  }

  dispose(): void {
    for (const variable of this.variables.values()) variable.dispose();
    this.variables.clear();
  }
}
