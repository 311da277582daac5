import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `body` once per series term, carrying tensors from one iteration to the next and
 * disposing each iteration's intermediates as it ends. A single `tf.tidy` around the loop would
 * keep every term's intermediates alive until the end: O(t·L·D) instead of O(L·D) scratch.
 * The loop owns the carried tensors: a value not carried on is disposed.
 */
export function foldTerms<K extends string>(
  terms: number,
  initial: Record<K, tf.Tensor>,
  body: (carry: Record<K, tf.Tensor>, n: number) => Record<K, tf.Tensor>,
): Record<K, tf.Tensor> {
  let carry = initial;
  for (let n = 0; n < terms; n++) {
    const previous = carry;
    carry = tf.tidy(() => body(previous, n));
    const carried = new Set(Object.values(carry));
    for (const tensor of Object.values<tf.Tensor>(previous)) {
      if (!carried.has(tensor)) tensor.dispose();
    }
  }
  return carry;
}
