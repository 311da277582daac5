import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { env } from '@tensorflow/tfjs-core';

/**
 * The WebGL device's renderer string, as `WEBGL_debug_renderer_info` reports it (the unmasked
 * renderer), or the masked `RENDERER` where the extension is unavailable.
 */
export function webglRenderer(backend: MathBackendWebGL): string {
  const gl = backend.gpgpu.gl;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}

/**
 * Refuses to run on a device that stores tensors in float16 textures. The kernels keep every
 * intermediate (moment prefix sums, adjoints) in textures; in float16 those carry 3 significant
 * digits and overflow at 65 504, so results would be wrong without any sign of it. tfjs's
 * `WEBGL_RENDER_FLOAT32_CAPABLE` says whether the device can render to float32 textures, and
 * `WEBGL_FORCE_F16_TEXTURES` forces float16 even where it can.
 */
export function assertFloat32Textures(backend: MathBackendWebGL, kernelName: string): void {
  const flags = env();
  let reason: string | undefined;
  if (!flags.getBool('WEBGL_RENDER_FLOAT32_CAPABLE')) {
    reason =
      'tfjs flag WEBGL_RENDER_FLOAT32_CAPABLE is false: the device cannot render to float32 textures';
  } else if (flags.getBool('WEBGL_FORCE_F16_TEXTURES')) {
    reason = 'tfjs flag WEBGL_FORCE_F16_TEXTURES is true: tensors are stored in float16 textures';
  }
  if (reason === undefined) return;
  throw new Error(
    `${kernelName} (@elementwise/backend-webgl): ${reason} (WebGL renderer: ` +
      `${webglRenderer(backend)}). The fused kernels need float32 textures and refuse to run at ` +
      'float16 precision. Use the wasm, cpu or webgpu backend on this device, or call ' +
      'unregisterWebGLKernels() to run the composite implementation (also float16 on this device).',
  );
}
