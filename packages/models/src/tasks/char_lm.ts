import * as tf from '@tensorflow/tfjs-core';
import type { CharLMConfig } from '../config/types.js';
import {
  callArguments,
  type ForwardContext,
  type ForwardOptions,
  forwardContext,
  INFERENCE,
} from '../forward_context.js';
import { checkNumber, checkOptions, describeValue, isPositiveInteger } from '../options.js';
import { randomSeed, SeededRandom } from '../random.js';
import { cleanUp } from '../training/cleanup.js';
import { explainWasmFailure } from '../training/wasm_failure.js';
import { BaseModel } from './base_model.js';
import type { Batch, MetricSums } from './batch.js';
import { CharLMDecoder } from './char_lm_decoder.js';
import { GenerationSession } from './generation_session.js';
import { correctCount, crossEntropy } from './losses.js';
import { type GenerateOptions, sampleToken } from './sampling.js';

const GENERATE_OPTIONS = ['maxTokens', 'temperature', 'topK', 'seed'];

/** The id of characters outside the vocabulary; character i of the vocabulary has id i + 1. */
export const UNKNOWN_ID = 0;

/**
 * Character-level causal language model: token embedding, causal backbone, linear head over
 * the vocabulary (plus the reserved unknown id), as the `tf.LayersModel` `network` (ids [B, L]
 * → logits [B, L, vocabularySize]). Generation prefills the prompt in parallel and then runs one
 * recurrent step per character (EA state or softmax KV cache).
 */
export class CharLM extends BaseModel<CharLMConfig> {
  /** Characters of the vocabulary, by id − 1. */
  readonly characters: string[];
  readonly vocabularySize: number;
  private readonly ids: Map<string, number>;
  /** The network's layers run token by token, for generation sessions. */
  readonly decoder: CharLMDecoder;

  constructor(config: CharLMConfig, seed: number) {
    super(config, seed);
    this.characters = Array.from(config.vocabulary);
    this.ids = new Map(this.characters.map((c, i) => [c, i + 1]));
    this.vocabularySize = this.characters.length + 1;
    this.decoder = new CharLMDecoder(this.network, config, this.blocks);
  }

  get maxLength(): number {
    return this.config.maxLength;
  }

  /** Characters → ids; characters outside the vocabulary become {@link UNKNOWN_ID}. */
  encode(text: string): Int32Array {
    if (typeof text !== 'string') {
      throw new Error(`CharLM.encode: text must be a string, got ${describeValue(text)}`);
    }
    return Int32Array.from(Array.from(text), (c) => this.ids.get(c) ?? UNKNOWN_ID);
  }

  /** Ids → characters; the unknown id decodes to U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabularySize) {
        throw new Error(
          `CharLM.decode: ids must be integers in [0, ${this.vocabularySize}), got ${id} at index ${i}`,
        );
      }
      text += id === UNKNOWN_ID ? '\uFFFD' : this.characters[id - 1];
    }
    return text;
  }

  /**
   * Next-character logits for every position of ids [B, L] (int32 in [0, vocabularySize)):
   * [B, L, vocabularySize]. The ids are read back to check their range: an id outside it would
   * embed as a zero vector and give logits that look like an answer. Inference by default;
   * `{training: true, seed}` turns dropout on, with masks the seed fixes.
   */
  logits(ids: tf.Tensor2D, options?: ForwardOptions | ForwardContext): tf.Tensor3D {
    this.assertAlive();
    const context = forwardContext('CharLM.logits', options);
    this.checkIds('CharLM.logits', ids);
    const values = ids.dataSync();
    const bad = values.findIndex((id) => !(id >= 0 && id < this.vocabularySize));
    if (bad >= 0) {
      throw new Error(
        `CharLM.logits: ids must be in [0, vocabularySize = ${this.vocabularySize}), got ${values[bad]} at flat index ${bad}`,
      );
    }
    return this.forward(ids, context);
  }

  /** {@link logits} of ids that are known to be in range (the samplers' and sessions'). */
  private forward(ids: tf.Tensor2D, context: ForwardContext): tf.Tensor3D {
    this.checkIds('CharLM', ids);
    return this.network.apply(ids, callArguments(context)) as tf.Tensor3D;
  }

  protected networkInputs(inputs: tf.Tensor): tf.Tensor {
    return inputs;
  }

  /** Mean cross-entropy over the positions, weighted by `batch.weights` where it has them. */
  loss(batch: Batch, context: ForwardContext): tf.Scalar {
    return tf.tidy(() => {
      const losses = crossEntropy(
        this.forward(batch.inputs as tf.Tensor2D, context),
        batch.targets,
      );
      if (!batch.weights) return tf.mean(losses);
      // A batch whose weights are all 0 teaches nothing: loss 0, gradients 0.
      return tf.div(
        tf.sum(tf.mul(losses, batch.weights)),
        tf.maximum(tf.sum(batch.weights), 1e-12),
      );
    }) as tf.Scalar;
  }

  async metricSums(batch: Batch): Promise<MetricSums> {
    const weights = batch.weights;
    const [loss, correct, count] = tf.tidy(() => {
      const logits = this.forward(batch.inputs as tf.Tensor2D, INFERENCE);
      const losses = crossEntropy(logits, batch.targets);
      if (!weights) {
        return [tf.sum(losses), correctCount(logits, batch.targets), tf.scalar(batch.targets.size)];
      }
      const hits = tf.equal(tf.argMax(logits, -1), tf.cast(batch.targets, 'int32'));
      return [
        tf.sum(tf.mul(losses, weights)),
        tf.sum(tf.mul(tf.cast(hits, 'float32'), weights)),
        tf.sum(weights),
      ];
    });
    const [lossSum, correctSum, countSum] = await Promise.all(
      [loss, correct, count].map(async (x) => (await x.data())[0]),
    );
    tf.dispose([loss, correct, count]);
    return { count: countSum, loss: lossSum, correct: correctSum };
  }

  /** A session that prefills a context and steps through it one token at a time. */
  createSession(): GenerationSession {
    this.assertAlive();
    return new GenerationSession(this);
  }

  /**
   * Continues `prompt`, yielding each new character as it is produced. Sampling draws from the
   * softmax of logits / temperature over the `topK` most likely characters (temperature 0 =
   * greedy); the unknown id is never drawn. A context longer than maxLength slides: see
   * {@link GenerationSession}.
   */
  async *generate(prompt: string, options: GenerateOptions): AsyncGenerator<string> {
    this.assertAlive();
    const where = 'CharLM.generate';
    if (typeof prompt !== 'string' || prompt.length === 0) {
      throw new Error(`${where}: prompt must be a non-empty string, got ${JSON.stringify(prompt)}`);
    }
    const given = checkOptions<GenerateOptions>(where, options, GENERATE_OPTIONS);
    const maxTokens = checkNumber(
      where,
      'options.maxTokens',
      given.maxTokens,
      (n) => Number.isInteger(n) && n >= 0,
      'an integer >= 0',
    );
    const temperature = checkNumber(
      where,
      'options.temperature',
      given.temperature === undefined ? 1 : given.temperature,
      (t) => t >= 0,
      'a number >= 0',
    );
    const topK =
      given.topK === undefined
        ? undefined
        : checkNumber(where, 'options.topK', given.topK, isPositiveInteger, 'a positive integer');
    const seed = checkNumber(
      where,
      'options.seed',
      given.seed === undefined ? randomSeed() : given.seed,
      Number.isFinite,
      'a finite number',
    );
    const session = this.createSession();
    const random = new SeededRandom(seed);
    let failed = false;
    try {
      let logits = await session.prefill(this.encode(prompt));
      for (let produced = 0; produced < maxTokens; produced++) {
        const id = sampleToken(logits, { temperature, topK, random });
        yield this.characters[id - 1];
        if (produced + 1 < maxTokens) logits = await session.step(id);
      }
    } catch (error) {
      failed = true;
      throw explainWasmFailure(error, {
        where,
        during: `generation (prompt of ${prompt.length} characters, maxLength ${this.maxLength})`,
        config: this.config,
        reduce: 'maxLength (the context) or dModel',
      });
    } finally {
      cleanUp(() => session.dispose(), failed);
    }
  }

  private checkIds(where: string, ids: tf.Tensor): void {
    if (!(ids instanceof tf.Tensor)) {
      throw new Error(
        `${where}: ids must be an int32 tf.Tensor2D [B, L], got ${describeValue(ids)}`,
      );
    }
    if (ids.isDisposed) throw new Error(`${where}: ids has been disposed`);
    const length = ids.shape[1] ?? 0;
    if (ids.rank !== 2 || length < 1 || length > this.config.maxLength) {
      throw new Error(
        `${where}: ids must have shape [B, L] with 1 <= L <= maxLength = ${this.config.maxLength}, got [${ids.shape.join(', ')}]`,
      );
    }
    if (ids.dtype !== 'int32')
      throw new Error(`${where}: ids must have dtype int32, got ${ids.dtype}`);
  }
}
