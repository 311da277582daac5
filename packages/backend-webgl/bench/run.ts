/**
 * Fused WebGL EA-6 against the composite EA-6 and softmax attention, in headless Chromium.
 *
 *   pnpm --filter @elementwise/backend-webgl bench [-- --max-length N] [-- --quick]
 *
 * Bundles bench/browser_entry.ts, runs it on tfjs's webgl backend through
 * @elementwise/browser-bench and prints its tables (markdown) to stdout.
 */
import { fileURLToPath } from 'node:url';
import { runBrowserBenchmark } from '@elementwise/browser-bench';

function parseArgs(argv: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') args.quick = 'true';
    else if (argv[i] === '--max-length') {
      const value = argv[++i];
      if (!value || !/^\d+$/.test(value)) throw new Error('--max-length needs a whole number');
      args.maxLength = value;
    } else if (argv[i] !== '--') throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

await runBrowserBenchmark({
  entry: fileURLToPath(new URL('./browser_entry.ts', import.meta.url)),
  args: parseArgs(process.argv.slice(2)),
  timeoutMs: 45 * 60_000,
});
