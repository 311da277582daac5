import { describeValue, fail } from './errors.js';

/**
 * Checks a nested array before `tf.tensor` sees it. tfjs infers the shape from the first element
 * at each depth and then compares only the number of values, so a ragged array whose count
 * happens to fit, such as `[[1], [2, 3], []]`, becomes the [3, 1] tensor [[1], [2], [3]]; a
 * string among numbers becomes NaN.
 */

/** What the innermost elements may be: numbers (q, k, v, states) or also booleans (masks). */
type Leaf = 'numbers' | 'numbers or booleans';

const ONE: Record<Leaf, string> = {
  numbers: 'a number',
  'numbers or booleans': 'a number or a boolean',
};

function isTypedArray(value: unknown): value is ArrayLike<number> {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/** The shape of `value`; fails on ragged arrays and on leaves other than `leaf`. */
function shapeOf(op: string, value: unknown, path: string, leaf: Leaf): number[] {
  if (isTypedArray(value)) return [value.length];
  if (!Array.isArray(value)) {
    const ok = typeof value === 'number' || (leaf !== 'numbers' && typeof value === 'boolean');
    if (!ok) fail(op, `${path} must be ${ONE[leaf]}, got ${describeValue(value)}`);
    return [];
  }
  if (value.length === 0) return [0];
  const first = shapeOf(op, value[0], `${path}[0]`, leaf);
  for (let i = 1; i < value.length; i++) {
    const shape = shapeOf(op, value[i], `${path}[${i}]`, leaf);
    if (shape.length !== first.length || shape.some((size, d) => size !== first[d])) {
      fail(
        op,
        `${path} is a ragged nested array: ${path}[${i}] has shape [${shape.join(', ')}] where ${path}[0] has shape [${first.join(', ')}]`,
      );
    }
  }
  return [value.length, ...first];
}

/**
 * Refuses what `tf.tensor` would misread as `name`: anything but a number, a typed array or a
 * rectangular nested array of `leaf` values.
 */
export function checkNestedArray(op: string, name: string, value: unknown, leaf: Leaf): void {
  if (typeof value !== 'number' && !isTypedArray(value) && !Array.isArray(value)) {
    fail(
      op,
      `${name} must be a tf.Tensor or a nested array of ${leaf}, got ${describeValue(value)}`,
    );
  }
  shapeOf(op, value, name, leaf);
}
