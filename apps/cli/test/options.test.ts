import { MAX_ORDER } from '@elementwise/attention';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  attentionLabel,
  attentionListOption,
  parseAttention,
  withEaFlags,
} from '../src/options.js';

describe('--attention ea-N', () => {
  it('accepts every even order up to MAX_ORDER', () => {
    expect(parseAttention('ea-0')).toEqual({ kind: 'ea', order: 0 });
    expect(parseAttention('EA-6')).toEqual({ kind: 'ea', order: 6 });
    expect(parseAttention(`ea-${MAX_ORDER}`)).toEqual({ kind: 'ea', order: MAX_ORDER });
    expect(parseAttention('ea-exact')).toEqual({ kind: 'ea', order: 'exact' });
  });

  it.each([String(MAX_ORDER + 2), String(MAX_ORDER + 1), '1000000', '1000000000', '9'.repeat(400)])(
    'refuses ea-%s, naming the bound and the value',
    (order) => {
      const parse = () => parseAttention(`ea-${order}`);
      expect(parse).toThrow(InvalidArgumentError);
      expect(parse).toThrow(
        `EA order must be at most MAX_ORDER = ${MAX_ORDER} (higher Taylor terms underflow or overflow float32), got ${order}.`,
      );
    },
  );

  it('refuses a too-high order inside a list', () => {
    expect(() => attentionListOption('ea-2,ea-1000000,softmax')).toThrow('got 1000000.');
  });

  it('still refuses odd orders and unknown names', () => {
    expect(() => parseAttention('ea-3')).toThrow('EA order must be even');
    expect(() => parseAttention('ea-1e9')).toThrow('Unknown attention "ea-1e9"');
  });
});

describe('--attention ea-N-gD and the EA flags', () => {
  it('reads a group suffix, and -g1 as per-channel EA', () => {
    expect(parseAttention('ea-2-g8')).toEqual({ kind: 'ea', order: 2, groupSize: 8 });
    expect(parseAttention('ea-exact-g16')).toEqual({ kind: 'ea', order: 'exact', groupSize: 16 });
    expect(parseAttention('ea-6-g1')).toEqual({ kind: 'ea', order: 6 });
    expect(attentionLabel(parseAttention('ea-2-g8'))).toBe('EA-2 g8');
    expect(() => parseAttention('softmax-g4')).toThrow('A group suffix -g<d> needs EA attention');
    expect(() => parseAttention('ea-3-g4')).toThrow('EA order must be even');
  });

  it('applies --qk-norm and --qk-bound to EA entries only, and refuses them without EA', () => {
    const list = attentionListOption('softmax,ea-6-g4');
    expect(withEaFlags(list, { qkNorm: 'rms', qkBound: 1.2 })).toEqual([
      { kind: 'softmax' },
      { kind: 'ea', order: 6, groupSize: 4, qkNorm: 'rms', qkBound: 1.2 },
    ]);
    expect(withEaFlags(list, { qkNorm: 'none', qkBound: 0 })).toEqual(list);
    expect(() => withEaFlags([{ kind: 'softmax' }], { qkNorm: 'none', qkBound: 1 })).toThrow(
      '--qk-bound applies to EA attention only',
    );
  });
});
