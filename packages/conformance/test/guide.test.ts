import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The guide's worked example names every file that adding one attribute changes, and says how
 * many: each named file must exist (or be marked new), and each count must be the number of
 * files named under it, so the walkthrough cannot drift from the code it walks through.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const guide = readFileSync(new URL('../CONTRIBUTING-BACKEND.md', import.meta.url), 'utf8');
const example = guide.slice(guide.indexOf('## 9. Worked example'));

/** The distinct repository paths in backticks in `text`, each with whether it is marked new. */
function namedFiles(text: string): Map<string, boolean> {
  const files = new Map<string, boolean>();
  for (const match of text.matchAll(/`((?:packages|apps|tooling)\/[^`]+)`( \(new\))?/g)) {
    files.set(match[1], (files.get(match[1]) ?? false) || match[2] !== undefined);
  }
  return files;
}

describe("the guide's worked example", () => {
  it('is there', () => {
    expect(example.length).toBeGreaterThan(1000);
  });

  it('names files that exist, except those it marks new', () => {
    const files = namedFiles(example);
    expect(files.size).toBeGreaterThan(10);
    for (const [path, isNew] of files) {
      expect(
        existsSync(`${root}${path}`),
        `${path} ${isNew ? 'is marked new but' : ''} exists`,
      ).toBe(!isNew);
    }
  });

  it('says how many files change in all, and in each group', () => {
    const total = example.match(/\*\*(\d+) files\*\*/);
    expect(total, 'a bold "N files" total').not.toBeNull();
    expect(Number(total![1])).toBe(namedFiles(example).size);
    const groups = example
      .split(/\n(?=\*\*)/)
      .filter((part) => /^\*\*[^*]+\*\* \(\d+ files?\)/.test(part));
    expect(groups.length).toBeGreaterThanOrEqual(6);
    for (const group of groups) {
      const [, title, count] = group.match(/^\*\*([^*]+)\*\* \((\d+) files?\)/)!;
      expect(namedFiles(group).size, title).toBe(Number(count));
    }
  });
});
