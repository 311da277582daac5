import { existsSync } from 'node:fs';
import { nodeAndBrowserTestConfig } from '@elementwise/test-config';

/**
 * Node tests reach WebGPU through Dawn (npm `webgpu`) on SwiftShader's Vulkan driver, which
 * Debian's Chromium ships in /usr/lib/chromium (with the Vulkan loader, libvulkan.so.1). The
 * variables are set here, before vitest forks its workers, because the dynamic loader reads
 * LD_LIBRARY_PATH only when a process starts. A machine with its own Vulkan driver can set
 * VK_ICD_FILENAMES itself.
 */
const CHROMIUM_LIBRARIES = '/usr/lib/chromium';
const SWIFTSHADER_ICD = `${CHROMIUM_LIBRARIES}/vk_swiftshader_icd.json`;
if (process.env.VK_ICD_FILENAMES == null && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}
if (existsSync(CHROMIUM_LIBRARIES)) {
  process.env.LD_LIBRARY_PATH = [process.env.LD_LIBRARY_PATH, CHROMIUM_LIBRARIES]
    .filter(Boolean)
    .join(':');
}

export default nodeAndBrowserTestConfig(new URL('.', import.meta.url), {
  node: { setupFiles: ['./test/dawn_setup.ts'] },
});
