import type { TransformerBlockState } from '@elementwise/layers';
import * as tf from '@tensorflow/tfjs-core';
import { describeValue } from '../options.js';
import { cleanUp } from '../training/cleanup.js';
import type { CharLM } from './char_lm.js';

/**
 * Incremental next-character logits for a {@link CharLM}.
 *
 * `prefill` runs the context in parallel (EA: the causal op returning its final state; softmax:
 * keeping each layer's keys and values) and `step` then adds one token with the recurrent form:
 * constant time and memory per token for EA, a growing KV cache for softmax attention.
 *
 * Positions stay within the trained range 0 .. maxLength − 1: when a token would land at
 * position maxLength, the context slides — the last ⌊maxLength / 2⌋ tokens are prefilled again
 * from position 0 and the token follows them. A prompt longer than maxLength keeps its last
 * maxLength characters. Models without a recurrent form (`order: 'exact'`) recompute the
 * window in parallel for every token.
 */
export class GenerationSession {
  private context: number[] = [];
  private states: TransformerBlockState[] | null = null;

  constructor(private readonly model: CharLM) {}

  /** Number of tokens in the current window (the next token's position). */
  get position(): number {
    return this.context.length;
  }

  /**
   * Replaces the context with `ids` (integers in [0, vocabularySize), e.g. from
   * `model.encode(text)`) and returns the logits after its last token.
   */
  async prefill(ids: ArrayLike<number>): Promise<Float32Array> {
    const where = 'GenerationSession.prefill';
    this.assertModelAlive(where);
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw new Error(
        `${where}: ids must be an array of token ids (model.encode(text) gives them), got ${describeValue(ids)}`,
      );
    }
    if (ids.length === 0) throw new Error(`${where}: ids must not be empty`);
    const all = Array.from(ids);
    const bad = all.findIndex((id) => !this.isId(id));
    if (bad >= 0) {
      throw new Error(
        `${where}: ids must be integers in [0, vocabularySize = ${this.model.vocabularySize}), got ${describeValue(all[bad])} at index ${bad}`,
      );
    }
    const maxLength = this.model.maxLength;
    this.context = all.slice(Math.max(0, all.length - maxLength));
    return this.encodeWindow();
  }

  /** Appends one token and returns the logits after it. */
  async step(id: number): Promise<Float32Array> {
    const where = 'GenerationSession.step';
    this.assertModelAlive(where);
    if (!this.isId(id)) {
      throw new Error(
        `${where}: id must be an integer in [0, vocabularySize = ${this.model.vocabularySize}), got ${describeValue(id)}`,
      );
    }
    if (this.context.length === 0) throw new Error(`${where}: call prefill first`);
    const maxLength = this.model.maxLength;
    if (this.context.length >= maxLength) {
      const keep = Math.max(1, Math.floor(maxLength / 2));
      this.context = [...this.context.slice(this.context.length - keep + 1), id];
      return this.encodeWindow();
    }
    if (!this.model.decoder.recurrent) {
      this.context.push(id);
      return this.encodeWindow();
    }
    const { logits, states } = this.model.decoder.step(id, this.context.length, this.states!);
    this.disposeStates();
    this.states = states;
    this.context.push(id);
    return readAndDispose(logits);
  }

  dispose(): void {
    this.disposeStates();
    this.context = [];
  }

  /** An id outside the vocabulary would embed as a zero vector and give plausible logits. */
  private isId(id: unknown): boolean {
    return (
      Number.isInteger(id) && (id as number) >= 0 && (id as number) < this.model.vocabularySize
    );
  }

  private assertModelAlive(where: string): void {
    if (this.model.isDisposed) throw new Error(`${where}: the model has been disposed`);
  }

  private async encodeWindow(): Promise<Float32Array> {
    this.disposeStates();
    const ids = tf.tensor2d(this.context, [1, this.context.length], 'int32');
    const length = this.context.length;
    const lastRow = (x: tf.Tensor3D) =>
      tf.reshape(tf.slice(x, [0, length - 1, 0], [1, 1, -1]), [1, -1]);
    let failed = false;
    try {
      if (!this.model.decoder.recurrent) {
        return await readAndDispose(tf.tidy(() => lastRow(this.model.logits(ids))));
      }
      const { logits, states } = this.model.decoder.prefill(ids);
      this.states = states;
      return await readAndDispose(logits);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      cleanUp(() => ids.dispose(), failed);
    }
  }

  private disposeStates(): void {
    if (this.states) for (const state of this.states) tf.dispose(Object.values(state));
    this.states = null;
  }
}

async function readAndDispose(logits: tf.Tensor): Promise<Float32Array> {
  const values = (await logits.data()) as Float32Array;
  logits.dispose();
  return values;
}
