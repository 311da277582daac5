import { parseArgs } from 'node:util';

export interface LengthFlags {
  /** Sequence lengths and step positions above this are not run (a short smoke run). */
  maxLength: number;
  /** Where to write every measurement as JSON, if anywhere. */
  json?: string;
}

/**
 * `--max-length N` and `--json PATH`, the flags of the Node benchmarks of fused kernels. A `--`
 * (what `pnpm bench -- --max-length 1024` passes on) is ignored.
 */
export function parseLengthFlags(argv: string[]): LengthFlags {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: { 'max-length': { type: 'string' }, json: { type: 'string' } },
  });
  const text = values['max-length'];
  const maxLength = text === undefined ? Number.POSITIVE_INFINITY : Number(text);
  if (!(maxLength >= 1)) throw new Error(`--max-length must be a positive number, got '${text}'`);
  return { maxLength, json: values.json };
}
