/**
 * Bits per character of a count-based n-gram model: the probability of each held-out character
 * given the `contextLength` characters before it, from counts in the training text with
 * additive smoothing `alpha` over the training alphabet plus one unknown symbol. A reference for
 * what a char LM gets from the last one or two characters alone.
 */
export function ngramBitsPerChar(
  training: string,
  heldOut: string,
  contextLength: number,
  alpha = 0.1,
): number {
  if (!Number.isInteger(contextLength) || contextLength < 0) {
    throw new Error(`ngramBitsPerChar: contextLength must be an integer ≥ 0, got ${contextLength}`);
  }
  if (!(alpha > 0)) throw new Error(`ngramBitsPerChar: alpha must be > 0, got ${alpha}`);
  const train = Array.from(training);
  const test = Array.from(heldOut);
  const alphabet = new Set(train).size + 1;
  const pairs = new Map<string, number>();
  const contexts = new Map<string, number>();
  for (let i = contextLength; i < train.length; i += 1) {
    const context = train.slice(i - contextLength, i).join('');
    const key = `${context}\u0000${train[i]}`;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
    contexts.set(context, (contexts.get(context) ?? 0) + 1);
  }
  let bits = 0;
  let count = 0;
  for (let i = contextLength; i < test.length; i += 1) {
    const context = test.slice(i - contextLength, i).join('');
    const seen = pairs.get(`${context}\u0000${test[i]}`) ?? 0;
    const total = contexts.get(context) ?? 0;
    bits -= Math.log2((seen + alpha) / (total + alpha * alphabet));
    count += 1;
  }
  if (count === 0)
    throw new Error('ngramBitsPerChar: the held-out text is shorter than the context');
  return bits / count;
}
