/** Text formatting shared by the benchmark scripts: aligned markdown tables and numbers. */

export type Cell = string | number;

/**
 * A GitHub-flavoured markdown table whose columns are also aligned as plain text, so the same
 * output reads well in a terminal and pastes into BENCHMARKS.md. Numeric columns align right.
 */
export function markdownTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((row) => row.map(String));
  const widths = headers.map((header, c) =>
    Math.max(header.length, 3, ...text.map((row) => (row[c] ?? '').length)),
  );
  const numeric = headers.map(
    (_, c) =>
      rows.length > 0 &&
      rows.every(
        (row) => typeof row[c] === 'number' || /^[\d.,×~≈<>—-]*$/.test(String(row[c] ?? '')),
      ),
  );
  const cell = (value: string, c: number) =>
    numeric[c] ? value.padStart(widths[c]) : value.padEnd(widths[c]);
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (numeric[c] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(headers), rule, ...text.map(line)].join('\n');
}

/** Milliseconds with about three significant digits. */
export function formatMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

export function formatRatio(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}×`;
}

export function formatMegabytes(bytes: number): string {
  const mb = bytes / 2 ** 20;
  return mb >= 100 ? mb.toFixed(0) : mb.toFixed(1);
}

/** numerator / denominator as a ratio, or '—' where either time is missing. */
export function formatRatioOf(numerator?: number, denominator?: number): string {
  return numerator === undefined || denominator === undefined
    ? '—'
    : formatRatio(numerator / denominator);
}

/** Milliseconds, or `missing` where the call was not timed. */
export function formatOptionalMs(ms?: number, missing = '—'): string {
  return ms === undefined ? missing : formatMs(ms);
}
