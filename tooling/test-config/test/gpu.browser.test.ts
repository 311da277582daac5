import { describe, expect, it } from 'vitest';

// Proves that the headless Chromium of browserTestConfig() offers what the WebGL and WebGPU
// backends need (DESIGN.md §8): WebGL2 with float32 render targets, and a WebGPU adapter that
// runs a compute shader. What the browser reports is printed, so a CI log shows the renderer.

// WebGPU types are not part of TypeScript's DOM library; this is the little that is used here.
interface GpuBuffer {
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface GpuDevice {
  limits: Record<string, number>;
  queue: {
    writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBufferView): void;
    submit(commands: unknown[]): void;
  };
  createBuffer(desc: { size: number; usage: number }): GpuBuffer;
  createShaderModule(desc: { code: string }): unknown;
  createComputePipeline(desc: {
    layout: 'auto';
    compute: { module: unknown; entryPoint: string };
  }): { getBindGroupLayout(i: number): unknown };
  createBindGroup(desc: unknown): unknown;
  createCommandEncoder(): {
    beginComputePass(): {
      setPipeline(p: unknown): void;
      setBindGroup(i: number, g: unknown): void;
      dispatchWorkgroups(x: number): void;
      end(): void;
    };
    copyBufferToBuffer(a: GpuBuffer, ao: number, b: GpuBuffer, bo: number, size: number): void;
    finish(): unknown;
  };
  destroy(): void;
}
interface GpuAdapter {
  info?: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    isFallbackAdapter?: boolean;
  };
  isFallbackAdapter?: boolean;
  features: Set<string>;
  limits: Record<string, number>;
  requestDevice(): Promise<GpuDevice>;
}
interface Gpu {
  requestAdapter(): Promise<GpuAdapter | null>;
}

describe('headless Chromium', () => {
  it('offers WebGL2 with float32 render targets', () => {
    const canvas = document.createElement('canvas');
    const gl = canvas.getContext('webgl2');
    expect(gl, 'canvas.getContext("webgl2") returned null').not.toBeNull();
    if (!gl) return;

    const debugInfo = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = debugInfo
      ? gl.getParameter(debugInfo.UNMASKED_RENDERER_WEBGL)
      : gl.getParameter(gl.RENDERER);
    const vendor = debugInfo
      ? gl.getParameter(debugInfo.UNMASKED_VENDOR_WEBGL)
      : gl.getParameter(gl.VENDOR);
    console.log(`Browser: ${navigator.userAgent}`);
    console.log(`WebGL2 UNMASKED_RENDERER_WEBGL: ${renderer}`);
    console.log(`WebGL2 UNMASKED_VENDOR_WEBGL: ${vendor}`);
    console.log(`WebGL2 MAX_TEXTURE_SIZE: ${gl.getParameter(gl.MAX_TEXTURE_SIZE)}`);
    expect(typeof renderer).toBe('string');

    // tfjs-backend-webgl renders to RGBA32F textures; that needs EXT_color_buffer_float.
    expect(gl.getExtension('EXT_color_buffer_float')).not.toBeNull();
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, 2, 2, 0, gl.RGBA, gl.FLOAT, null);
    const framebuffer = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    expect(gl.checkFramebufferStatus(gl.FRAMEBUFFER)).toBe(gl.FRAMEBUFFER_COMPLETE);

    // A value that float16 or 8-bit targets cannot hold survives a clear and read-back.
    const value = 1 + 2 ** -20;
    gl.clearColor(value, -3.5, 1e-30, 65_536.5);
    gl.clear(gl.COLOR_BUFFER_BIT);
    const pixels = new Float32Array(4 * 4);
    gl.readPixels(0, 0, 2, 2, gl.RGBA, gl.FLOAT, pixels);
    expect(Array.from(pixels.subarray(0, 4))).toEqual([
      Math.fround(value),
      -3.5,
      Math.fround(1e-30),
      65_536.5,
    ]);
  });

  it('offers a WebGPU adapter that runs a compute shader', async () => {
    const gpu = (navigator as Navigator & { gpu?: Gpu }).gpu;
    expect(gpu, 'navigator.gpu is undefined (is --enable-unsafe-webgpu set?)').toBeDefined();
    if (!gpu) return;
    const adapter = await gpu.requestAdapter();
    expect(adapter, 'navigator.gpu.requestAdapter() returned null').not.toBeNull();
    if (!adapter) return;

    const info = adapter.info;
    console.log(
      `WebGPU adapter: vendor=${info?.vendor} architecture=${info?.architecture} ` +
        `device=${info?.device} description=${info?.description} ` +
        `fallback=${info?.isFallbackAdapter ?? adapter.isFallbackAdapter}`,
    );
    console.log(`WebGPU features: ${[...adapter.features].sort().join(', ') || '(none)'}`);
    console.log(
      `WebGPU limits: maxBufferSize=${adapter.limits.maxBufferSize} ` +
        `maxStorageBufferBindingSize=${adapter.limits.maxStorageBufferBindingSize} ` +
        `maxComputeWorkgroupSizeX=${adapter.limits.maxComputeWorkgroupSizeX}`,
    );

    const device = await adapter.requestDevice();
    try {
      // GPUBufferUsage: MAP_READ 1, COPY_SRC 4, COPY_DST 8, STORAGE 128; GPUMapMode.READ 1.
      const input = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
      const storage = device.createBuffer({ size: input.byteLength, usage: 128 | 4 | 8 });
      const readback = device.createBuffer({ size: input.byteLength, usage: 1 | 8 });
      device.queue.writeBuffer(storage, 0, input);
      const module = device.createShaderModule({
        code: `
          @group(0) @binding(0) var<storage, read_write> data: array<f32>;
          @compute @workgroup_size(8)
          fn main(@builtin(global_invocation_id) id: vec3<u32>) {
            data[id.x] = data[id.x] * data[id.x] + 0.5;
          }`,
      });
      const pipeline = device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
      });
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: storage } }],
      });
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(1);
      pass.end();
      encoder.copyBufferToBuffer(storage, 0, readback, 0, input.byteLength);
      device.queue.submit([encoder.finish()]);
      await readback.mapAsync(1);
      const output = Array.from(new Float32Array(readback.getMappedRange().slice(0)));
      readback.unmap();
      storage.destroy();
      readback.destroy();
      expect(output).toEqual(Array.from(input, (x) => x * x + 0.5));
    } finally {
      device.destroy();
    }
  });
});
