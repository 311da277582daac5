/**
 * Node setup for the webgpu backend: Dawn's WebGPU (npm `webgpu`) as `navigator.gpu`, before
 * `@tensorflow/tfjs-backend-webgpu` is imported (it registers itself only when `navigator.gpu`
 * exists). The Vulkan driver is chosen by vitest.config.ts (SwiftShader from Chromium).
 *
 * When Dawn finds no adapter, this throws: every Node test file fails with the reason, rather
 * than tfjs falling back to another backend or the suite passing without a GPU.
 */
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const gpu = create([]);
if (globalThis.navigator == null) {
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
} else {
  Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
}

const adapter = await gpu.requestAdapter();
if (adapter == null) {
  throw new Error(
    "WebGPU in Node: Dawn found no adapter. The tests need a Vulkan driver: Chromium's " +
      `SwiftShader (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? '(unset)'}, ` +
      `LD_LIBRARY_PATH=${process.env.LD_LIBRARY_PATH ?? '(unset)'}) or a GPU driver.`,
  );
}
