import Table from 'cli-table3';

/**
 * Prints a table to stdout: one header row, then rows of cells already formatted. Numbers align
 * right; the first column (names) and a last column headed "note" align left.
 */
export function printTable(title: string | undefined, head: string[], rows: string[][]): void {
  const table = new Table({
    head,
    style: { head: [], border: [] },
    colAligns: head.map((name, i) => (i === 0 || name === 'note' ? 'left' : 'right')),
  });
  table.push(...rows);
  if (title) process.stdout.write(`\n${title}\n`);
  process.stdout.write(`${table.toString()}\n`);
}
