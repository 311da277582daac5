import { readFileSync } from 'node:fs';
import { type CsvTable, parseCsv } from './csv.js';
import { installedPackageFile } from './package_files.js';

/** The vega-datasets release whose files the loaders read (pinned in apps/cli/package.json). */
export const VEGA_DATASETS_PACKAGE = 'vega-datasets';

/**
 * Path of a file in the installed `vega-datasets` package. Its JavaScript entry point fetches
 * from a CDN; the CLI reads the same files from the package's own `data/` folder instead, so it
 * works offline. The entry point is `build/index.js`, one folder below the package root.
 */
export function vegaDatasetPath(file: string): string {
  return installedPackageFile(VEGA_DATASETS_PACKAGE, 1, 'data', file);
}

/** Reads and parses one CSV file of `vega-datasets`. */
export function readVegaCsv(file: string): { table: CsvTable; path: string } {
  const path = vegaDatasetPath(file);
  return { table: parseCsv(readFileSync(path, 'utf8'), path), path };
}
