/** A parsed CSV file with a header row: column names and rows of raw cells. */
export interface CsvTable {
  columns: string[];
  rows: string[][];
}

/**
 * Parses the plain comma-separated files the datasets ship (no quoted fields). A row whose cell
 * count differs from the header is an error, naming the file and line.
 */
export function parseCsv(text: string, source: string): CsvTable {
  const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
  if (lines.length === 0) throw new Error(`${source}: the file is empty`);
  const columns = lines[0].split(',');
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== columns.length) {
      throw new Error(
        `${source}: line ${i + 2} has ${cells.length} cells, the header has ${columns.length}`,
      );
    }
    return cells;
  });
  return { columns, rows };
}

/** The index of `name` in the table's header; throws naming the file when it is absent. */
export function columnIndex(table: CsvTable, name: string, source: string): number {
  const index = table.columns.indexOf(name);
  if (index < 0) {
    throw new Error(`${source}: no column "${name}" (columns: ${table.columns.join(', ')})`);
  }
  return index;
}

/** Parses a numeric cell; throws naming the file, row and column on anything else. */
export function numericCell(value: string, source: string, row: number, column: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) {
    throw new Error(`${source}: row ${row + 1}, column "${column}" is not a number: "${value}"`);
  }
  return number;
}
