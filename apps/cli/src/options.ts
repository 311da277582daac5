import { MAX_ORDER } from '@elementwise/attention';
import type { AttentionConfig } from '@elementwise/models';
import { InvalidArgumentError } from 'commander';

/**
 * Parsers for command-line values. Each throws commander's `InvalidArgumentError`, which
 * commander prints as `error: option '--flag <value>' argument 'x' is invalid. <reason>`, so
 * every message names the flag, the value given and what is accepted.
 */

export function integerOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(number)) {
      throw new InvalidArgumentError(`Expected an integer, got "${value}".`);
    }
    if (number < min || number > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`Expected an integer ${range}, got ${number}.`);
    }
    return number;
  };
}

export function numberOption(min: number, max = Number.POSITIVE_INFINITY, exclusiveMin = false) {
  return (value: string): number => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number)) {
      throw new InvalidArgumentError(`Expected a number, got "${value}".`);
    }
    if (exclusiveMin ? number <= min : number < min) {
      throw new InvalidArgumentError(
        `Expected a number ${exclusiveMin ? '>' : '≥'} ${min}, got ${number}.`,
      );
    }
    if (number > max) throw new InvalidArgumentError(`Expected a number ≤ ${max}, got ${number}.`);
    return number;
  };
}

/** One comma-separated list of integers, e.g. `--horizons 6,12`. */
export function integerListOption(min: number) {
  const parseOne = integerOption(min);
  return (value: string): number[] => value.split(',').map((part) => parseOne(part.trim()));
}

/**
 * Attention by name: `softmax`, `ea-exact`, or `ea-<t>` with an even Taylor order t from 0 to
 * `MAX_ORDER` (`ea-2`, `ea-6`, as in the paper); a suffix `-g<d>` makes groups of d channels
 * share one similarity (`ea-2-g8`, `ea-exact-g8`).
 */
export const ATTENTION_NAMES_HELP =
  'softmax, ea-<even order> (ea-2, ea-6, ...), ea-exact, each EA with an optional -g<group size> (ea-2-g8)';

export function parseAttention(value: string): AttentionConfig {
  const name = value.trim().toLowerCase();
  if (name === 'softmax') return { kind: 'softmax' };
  const grouped = /^(.*)-g(\d+)$/.exec(name);
  if (grouped) {
    const groupSize = Number(grouped[2]);
    const base = parseAttention(grouped[1]);
    if (base.kind !== 'ea' || groupSize < 1) {
      throw new InvalidArgumentError(
        `A group suffix -g<d> needs EA attention and d >= 1, got "${value}". Accepted: ${ATTENTION_NAMES_HELP}.`,
      );
    }
    return groupSize === 1 ? base : { ...base, groupSize };
  }
  if (name === 'ea-exact') return { kind: 'ea', order: 'exact' };
  const match = /^ea-(\d+)$/.exec(name);
  if (!match) {
    throw new InvalidArgumentError(
      `Unknown attention "${value}". Accepted: ${ATTENTION_NAMES_HELP}.`,
    );
  }
  const order = Number(match[1]);
  // Checked while parsing, so the error names the flag before any data or model is set up.
  if (order > MAX_ORDER) {
    throw new InvalidArgumentError(
      `EA order must be at most MAX_ORDER = ${MAX_ORDER} (higher Taylor terms underflow or overflow float32), got ${match[1]}. Accepted: ${ATTENTION_NAMES_HELP}.`,
    );
  }
  if (order % 2 !== 0) {
    throw new InvalidArgumentError(
      `EA order must be even (an even Taylor polynomial of exp is positive everywhere), got ${order}. Accepted: ${ATTENTION_NAMES_HELP}.`,
    );
  }
  return { kind: 'ea', order };
}

/** The EA flags `--qk-norm` and `--qk-bound`. */
export interface EaFlags {
  qkNorm: 'none' | 'rms';
  qkBound: number;
}

/**
 * The attentions with the EA flags applied to every EA entry (softmax entries, the twins, stay as
 * they are). A flag set where no entry is EA is a mistake worth an error, not a silent no-op.
 */
export function withEaFlags(attentions: AttentionConfig[], flags: EaFlags): AttentionConfig[] {
  const set = flags.qkNorm === 'rms' || flags.qkBound > 0;
  if (set && !attentions.some((attention) => attention.kind === 'ea')) {
    const flag = flags.qkNorm === 'rms' ? '--qk-norm rms' : '--qk-bound';
    throw new Error(`${flag} applies to EA attention only`);
  }
  return attentions.map((attention) => {
    if (attention.kind !== 'ea') return attention;
    const normed = flags.qkNorm === 'rms' ? { ...attention, qkNorm: 'rms' as const } : attention;
    return flags.qkBound > 0 ? { ...normed, qkBound: flags.qkBound } : normed;
  });
}

/** A comma-separated list of attentions, e.g. `ea-2,ea-6,softmax`. */
export function attentionListOption(value: string): AttentionConfig[] {
  return value.split(',').map((part) => parseAttention(part));
}

/** The short name of an attention config, as the tables print it: `EA-6`, `EA-6 rms`, `softmax`. */
export function attentionLabel(attention: AttentionConfig): string {
  if (attention.kind === 'softmax') return 'softmax';
  const order = attention.order === 'exact' ? 'exact' : String(attention.order);
  const bound = attention.qkBound ? ` +qk-bound ${attention.qkBound}` : '';
  const group = attention.groupSize && attention.groupSize > 1 ? ` g${attention.groupSize}` : '';
  return `EA-${order}${group}${attention.qkNorm === 'rms' ? ' +qk-rms' : ''}${bound}`;
}
