import { describe, expect, it } from 'vitest';
import { type ContestEntry, contestRows } from '../src/contest.js';

describe('contestRows', () => {
  type Name = 'fused' | 'composite';
  const entries: ContestEntry<Name>[] = [
    { length: 256, form: 'forward', contestant: 'fused', medianMs: 2 },
    { length: 256, form: 'forward', contestant: 'composite', medianMs: 30 },
    { length: 256, form: 'forward+backward', contestant: 'fused', medianMs: 5 },
    { length: 256, form: 'forward+backward', contestant: 'composite', skipped: 'too slow' },
  ];

  it('gives one row per form and length: cells, then times over the first contestant', () => {
    const rows = contestRows(
      entries,
      ['fused', 'composite'],
      [256],
      (e) => (e?.medianMs === undefined ? 'skipped' : String(e.medianMs)),
      (length, row) => [row.filter((e) => e?.skipped).length, length * 2],
    );
    expect(rows).toEqual([
      ['forward', 256, '2', '30', '15×', 0, 512],
      ['forward+backward', 256, '5', 'skipped', '—', 1, 512],
    ]);
  });

  it('leaves a length without entries empty', () => {
    expect(
      contestRows(entries, ['fused', 'composite'], [1024], (e) => e?.contestant ?? ''),
    ).toEqual([
      ['forward', 1024, '', '', '—'],
      ['forward+backward', 1024, '', '', '—'],
    ]);
  });
});
