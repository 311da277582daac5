/**
 * Benchmark of the fused WGSL kernels in headless Chromium on tfjs `webgpu`:
 *
 *   pnpm --filter @elementwise/backend-webgpu bench [-- --lengths 256,1024,4096,16384]
 *
 * bundles bench/browser_entry.ts and runs it through @elementwise/browser-bench (same Chromium
 * and flags as the browser tests); the page prints its tables, forwarded here.
 */
import { fileURLToPath } from 'node:url';
import { runBrowserBenchmark } from '@elementwise/browser-bench';

const args: Record<string, string> = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--lengths' && argv[i + 1] != null) args.lengths = argv[++i];
}

await runBrowserBenchmark({
  entry: fileURLToPath(new URL('./browser_entry.ts', import.meta.url)),
  args,
  timeoutMs: 40 * 60_000,
});
