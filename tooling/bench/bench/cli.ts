import { parseArgs } from 'node:util';
import { BENCH_BACKENDS, type BenchBackend, isBenchBackend } from '../src/node.js';

export interface BenchOptions {
  backends: BenchBackend[];
  lengths: number[];
  /** Positions the per-token step cost is measured at. */
  stepPositions: number[];
  quick: boolean;
  jsonPath?: string;
}

const FULL_LENGTHS = [256, 1024, 4096, 16384];
const QUICK_LENGTHS = [256, 1024];
const FULL_STEP_POSITIONS = [1024, 16384];
const QUICK_STEP_POSITIONS = [256, 1024];

export const USAGE = `usage: pnpm --filter @elementwise/bench bench [-- options]
  --backend cpu|wasm   one backend only (default: both)
  --max-length N       skip sequence lengths (and step positions) above N
  --quick              L up to 1024 and fewer repetitions (smoke check)
  --json PATH          also write every measurement as JSON`;

export function parseBenchOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    // `pnpm bench -- --quick` passes the `--` on.
    args: argv.filter((arg) => arg !== '--'),
    options: {
      backend: { type: 'string' },
      'max-length': { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  let backends: BenchBackend[] = [...BENCH_BACKENDS];
  if (values.backend !== undefined) {
    if (!isBenchBackend(values.backend))
      throw new Error(
        `--backend must be one of ${BENCH_BACKENDS.join(', ')}, got '${values.backend}'\n${USAGE}`,
      );
    backends = [values.backend];
  }
  const maxLength =
    values['max-length'] === undefined ? Number.POSITIVE_INFINITY : Number(values['max-length']);
  if (!(maxLength >= 1))
    throw new Error(
      `--max-length must be a positive number, got '${values['max-length']}'\n${USAGE}`,
    );
  const quick = values.quick ?? false;
  const lengths = (quick ? QUICK_LENGTHS : FULL_LENGTHS).filter((length) => length <= maxLength);
  const stepPositions = (quick ? QUICK_STEP_POSITIONS : FULL_STEP_POSITIONS).filter(
    (position) => position <= maxLength,
  );
  if (lengths.length === 0)
    throw new Error(
      `--max-length ${maxLength} leaves no sequence length to run (smallest is ${Math.min(...FULL_LENGTHS)})`,
    );
  return { backends, lengths, stepPositions, quick, jsonPath: values.json };
}
