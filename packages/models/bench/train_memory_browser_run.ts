/**
 * A char-LM training step's peak tensor memory per token on webgl and webgpu, in headless
 * Chromium (see train_memory_browser.ts):
 *
 *   pnpm --filter @elementwise/models bench:browser-memory [-- --contexts 256,512]
 *
 * dModel 128, 3 Post-LN blocks, batch 4, EA-6 with the fused kernels, with and without
 * `recompute`. On a software GPU (SwiftShader) the times say little; the memory is what tfjs
 * allocates on any device.
 */
import { fileURLToPath } from 'node:url';
import { runBrowserBenchmark } from '@elementwise/browser-bench';

const index = process.argv.indexOf('--contexts');
const contexts = index >= 0 ? process.argv[index + 1] : '256,512';
if (!/^\d+(,\d+)*$/.test(contexts ?? ''))
  throw new Error(`--contexts must be a comma-separated list of lengths, got '${contexts}'`);
await runBrowserBenchmark({
  entry: fileURLToPath(new URL('./train_memory_browser.ts', import.meta.url)),
  args: { contexts },
});
