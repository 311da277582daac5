/**
 * How a value reads in an error message, for every check of this package: of options and
 * datasets users pass, of configs, and of untrusted `model.json` files. One rendering everywhere,
 * so the same value reads the same whichever check refuses it.
 */

/** Longest part of a string shown: a hostile `model.json` may hold megabytes in one field. */
const MAX_SHOWN = 80;

/**
 * Strings single-quoted (escaped as in JavaScript, so newlines and control characters show, and
 * cut after 80 characters with `…`), `undefined` as `undefined (missing)`, arrays with their
 * length, typed arrays by class, functions and objects by kind, other values as `String` gives
 * them (numbers, booleans, `null`; bigints with their `n`).
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined (missing)';
  if (typeof value === 'string') return quoted(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  // The class from its toStringTag (a getter of the prototype), not a `constructor` property
  // the value itself could shadow.
  if (ArrayBuffer.isView(value)) return `a ${Object.prototype.toString.call(value).slice(8, -1)}`;
  if (typeof value === 'function') return 'a function';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

function quoted(text: string): string {
  const cut = text.length > MAX_SHOWN;
  // Cut by UTF-16 units, without splitting a surrogate pair.
  let shown = cut ? text.slice(0, MAX_SHOWN) : text;
  if (cut && /[\uD800-\uDBFF]$/.test(shown)) shown = shown.slice(0, -1);
  // JSON's escapes (\n, \u0000, …), then the quotes of a single-quoted JavaScript string.
  const escaped = JSON.stringify(shown).slice(1, -1).replaceAll('\\"', '"').replaceAll("'", "\\'");
  return `'${escaped}${cut ? '…' : ''}'`;
}
