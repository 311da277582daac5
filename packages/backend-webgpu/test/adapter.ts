/** The WebGPU adapter tests run on, as one line, so a reader of the output sees the device. */
export async function describeAdapter(): Promise<string> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (gpu == null) return 'no navigator.gpu';
  const adapter = await gpu.requestAdapter();
  if (adapter == null) return 'navigator.gpu found no adapter';
  // `GPUAdapter.info` (current Chromium, Dawn's npm `webgpu`) is newer than @webgpu/types 0.1.38.
  const { vendor, architecture, device, description } = (adapter as { info: GPUAdapterInfo }).info;
  const features = adapter.features.has('shader-f16') ? 'shader-f16' : 'no shader-f16';
  return `vendor '${vendor}', architecture '${architecture}', device '${device}', description '${description}', ${features}`;
}
