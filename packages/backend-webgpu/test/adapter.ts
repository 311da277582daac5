/** The WebGPU adapter tests run on, as one line, so a reader of the output sees the device. */
export async function describeAdapter(): Promise<string> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (gpu == null) return 'no navigator.gpu';
  const adapter = await gpu.requestAdapter();
  if (adapter == null) return 'navigator.gpu found no adapter';
  const info: Partial<GPUAdapterInfo> =
    'info' in adapter
      ? adapter.info
      : await (adapter as { requestAdapterInfo(): Promise<GPUAdapterInfo> }).requestAdapterInfo();
  const features = adapter.features.has('shader-f16') ? 'shader-f16' : 'no shader-f16';
  return (
    `vendor '${info.vendor}', architecture '${info.architecture}', device '${info.device}', ` +
    `description '${info.description}', ${features}`
  );
}
