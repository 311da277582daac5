import { defineConfig } from 'vite';
import { CROSS_ORIGIN_ISOLATION_HEADERS } from './build/cross_origin_isolation.js';
import { pretrainedModelsPlugin } from './build/pretrained_models_plugin.js';
import { tfjsWasmThreadsPlugin } from './build/tfjs_wasm_threads_plugin.js';
import { pretrainedModelNames } from './src/shared/pretrained_pairs.js';

/**
 * A static site: `vite build` writes `dist/` (relative URLs, so it can be hosted under any
 * path). The dev and preview servers send the cross-origin isolation headers that let tfjs's
 * WebAssembly backend run threads.
 */
export default defineConfig({
  base: './',
  plugins: [pretrainedModelsPlugin(pretrainedModelNames())],
  worker: { format: 'es', plugins: () => [tfjsWasmThreadsPlugin()] },
  server: { headers: CROSS_ORIGIN_ISOLATION_HEADERS },
  preview: { headers: CROSS_ORIGIN_ISOLATION_HEADERS },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
