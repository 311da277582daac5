// The tfjs backends, then the fused EA kernels for each (registered on import).
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-wasm';
import {
  ElementwiseAttentionBackward,
  ElementwiseAttentionForward,
  ElementwiseAttentionStep,
} from '@elementwise/attention';
import { kernelImplementation, kernelsReady } from '@elementwise/backend-cpu';
import { assertFloat32Textures } from '@elementwise/backend-webgl';
import '@elementwise/backend-webgpu';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import * as tf from '@tensorflow/tfjs-core';
import {
  BACKEND_ORDER,
  type BackendDetails,
  type BackendName,
  type BackendReport,
} from '../shared/protocol.js';
import { describeError } from './describe_error.js';
import { pointTfjsAtWasmBinaries } from './wasm_paths.js';

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<unknown | null> };
}

/** Why `name` cannot run here, or null when tfjs initialised it. Leaves it registered. */
async function unavailableReason(name: BackendName): Promise<string | null> {
  if (name === 'webgpu') {
    const gpu = (navigator as GpuNavigator).gpu;
    if (!gpu) return 'this browser exposes no WebGPU (navigator.gpu is missing in workers)';
    if ((await gpu.requestAdapter()) == null) return 'WebGPU is present but offers no adapter';
  }
  if (name === 'webgl') {
    if (typeof OffscreenCanvas === 'undefined') {
      return 'this browser has no OffscreenCanvas, so WebGL cannot run in a worker';
    }
    if (new OffscreenCanvas(1, 1).getContext('webgl2') == null) {
      return 'WebGL2 is unavailable (disabled, or no GPU driver the browser accepts)';
    }
  }
  if (name === 'wasm' && typeof WebAssembly === 'undefined') {
    return 'this browser has no WebAssembly';
  }
  try {
    if (!(await tf.setBackend(name))) return `tfjs could not initialise the ${name} backend`;
  } catch (error) {
    return `tfjs could not initialise the ${name} backend: ${describeError(error)}`;
  }
  if (name === 'webgl') {
    try {
      assertFloat32Textures(tf.backend() as MathBackendWebGL, 'the playground');
    } catch {
      return 'this device offers WebGL only with float16 textures; the fused EA kernels refuse float16 rather than return inaccurate results';
    }
  }
  return null;
}

const FUSED_KERNELS = [
  ElementwiseAttentionForward,
  ElementwiseAttentionBackward,
  ElementwiseAttentionStep,
];

/**
 * The fused EA kernels registered for `name`: the adapters register them when imported, so a
 * bundler that dropped an adapter's registration module leaves the op on its composite
 * implementation, and the page says so rather than timing the wrong thing.
 */
function fusedKernels(name: BackendName): string {
  const missing = FUSED_KERNELS.filter((kernel) => tf.getKernel(kernel, name) === undefined);
  if (missing.length === 0) return 'fused kernels registered';
  return `composite implementation: no fused ${missing.join(', ')} kernel registered for ${name}`;
}

/** What the active backend runs the EA op with, in words. */
async function describeKernels(name: BackendName): Promise<string> {
  const fused = fusedKernels(name);
  if (name === 'webgpu') return `${fused} (WGSL, @elementwise/backend-webgpu)`;
  if (name === 'webgl') return `${fused} (GLSL, @elementwise/backend-webgl)`;
  await kernelsReady();
  // tfjs loads its threaded build when the page is cross-origin isolated, and then uses half
  // the cores (at least 1, at most 4) for its own kernels.
  const threaded = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const threads = getThreadsCount();
  const build = threaded ? 'threaded build' : 'single-threaded build';
  return `${fused} (@elementwise/backend-cpu, ${kernelImplementation()}); tfjs wasm ${build}, ${threads} thread${threads === 1 ? '' : 's'}`;
}

/**
 * Tries every backend in detection order, keeping each one's reason when it fails, then makes
 * `wanted` (or the first available one) active and frees the others.
 */
export async function setUpBackend(wanted: BackendName | 'auto'): Promise<BackendDetails> {
  pointTfjsAtWasmBinaries();
  const reports: BackendReport[] = [];
  for (const name of BACKEND_ORDER) {
    const reason = await unavailableReason(name);
    reports.push(reason == null ? { name, available: true } : { name, available: false, reason });
  }
  const usable = reports.filter((r) => r.available).map((r) => r.name);
  if (usable.length === 0) {
    throw new Error(
      `no tfjs backend runs in this browser: ${reports.map((r) => `${r.name}: ${r.reason}`).join('; ')}`,
    );
  }
  const active = wanted === 'auto' ? usable[0] : wanted;
  if (!usable.includes(active)) {
    const reason = reports.find((r) => r.name === active)?.reason;
    throw new Error(`the ${active} backend is unavailable: ${reason}`);
  }
  // One backend per worker: free the others that detection started (GPU contexts, wasm heap).
  for (const name of BACKEND_ORDER) {
    if (name !== active && tf.findBackend(name) != null) tf.removeBackend(name);
  }
  if (!(await tf.setBackend(active))) throw new Error(`tfjs could not switch to ${active}`);
  await tf.ready();
  return {
    active,
    reports,
    kernels: await describeKernels(active),
    crossOriginIsolated: self.crossOriginIsolated === true,
  };
}
