import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Loads the native addon: the prebuilt binary shipped in `prebuilds/<platform>-<arch>/` first,
 * then a local build in `build/Release/` (or only the file named by `EW_ADDON`). Importing the package never fails because the addon
 * is missing (only `EW_CUDA=force` without a usable device fails the import); the kernels throw
 * an error naming what is missing instead.
 */

/** The addon's functions: Float32Arrays in, results written into the given Float32Arrays. */
export interface NativeAddon {
  /** order: an even integer >= 0, or -1 for 'exact'. */
  forward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Float32Array,
    initialS: Float32Array,
    initialZ: Float32Array,
    y: Float32Array,
    finalS: Float32Array,
    finalZ: Float32Array,
    batch: number,
    queries: number,
    keys: number,
    channels: number,
    order: number,
    causal: boolean,
  ): void;
  backward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Float32Array,
    initialS: Float32Array,
    initialZ: Float32Array,
    dy: Float32Array,
    dFinalS: Float32Array,
    dFinalZ: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    dInitialS: Float32Array,
    dInitialZ: Float32Array,
    batch: number,
    queries: number,
    keys: number,
    channels: number,
    order: number,
    causal: boolean,
  ): void;
  step(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    s: Float32Array,
    z: Float32Array,
    y: Float32Array,
    nextS: Float32Array,
    nextZ: Float32Array,
    batch: number,
    channels: number,
    order: number,
  ): void;
  backendInfo(): NativeInfo;
}

/** What the addon reports about the device it selected when it loaded. */
export interface NativeInfo {
  /** 'cuda': kernels run on the GPU; 'host': on CPU threads (same maths, float64 accumulators). */
  path: 'cuda' | 'host';
  /** The GPU's name and compute capability, on the CUDA path. */
  device?: string;
  /** Why this path was chosen (the CUDA error on the host path). */
  reason: string;
  /** EW_CUDA as the addon read it: 'auto', 'force' or 'off'. */
  mode: string;
  /** Whether the addon contains the CUDA kernels (false when built where nvcc was missing). */
  builtWithCuda: boolean;
  /** Threads the host path uses (EW_THREADS, else the hardware concurrency). */
  hostThreads: number;
  /** Highest order run on the GPU; higher orders run on the host path. */
  maxDeviceOrder: number;
  /** Hash of the native sources the addon was built from. */
  sourceHash: string;
}

/** {@link NativeInfo} plus the file loaded, or `path: 'unavailable'` when no addon loads. */
export type BackendInfo =
  | (NativeInfo & { addon: string })
  | { path: 'unavailable'; reason: string; addon?: undefined };

const require = createRequire(import.meta.url);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const prebuiltPath = `prebuilds/${process.platform}-${process.arch}/ew_cuda.node`;
const candidates = [prebuiltPath, 'build/Release/ew_cuda.node'];

/** EW_ADDON: the path of an addon file to load instead of the prebuilt and the local build. */
const addonOverride = process.env.EW_ADDON;

interface Loaded {
  addon?: NativeAddon;
  info: BackendInfo;
}

function load(): Loaded {
  const failures: string[] = [];
  const paths = addonOverride
    ? [resolve(addonOverride)]
    : candidates.map((relative) => `${packageDir}${relative}`);
  for (const path of paths) {
    const relative = addonOverride ? `EW_ADDON=${path}` : path.slice(packageDir.length);
    if (!existsSync(path)) {
      failures.push(`${relative} not found`);
      continue;
    }
    try {
      const addon = require(path) as NativeAddon;
      return { addon, info: { ...addon.backendInfo(), addon: path } };
    } catch (error) {
      failures.push(`${relative} failed to load (${(error as Error).message})`);
    }
  }
  return {
    info: {
      path: 'unavailable',
      reason:
        `no native addon: ${failures.join('; ')}; run \`npm rebuild @elementwise/backend-node-cuda\` ` +
        'with a C++ compiler (and nvcc for the CUDA kernels)',
    },
  };
}

/** EW_CUDA: unset/'auto' (GPU when usable), 'force' (GPU or fail), 'off' (host path). */
function checkMode(info: BackendInfo): void {
  const mode = process.env.EW_CUDA ?? '';
  if (!['', 'auto', 'force', 'off'].includes(mode)) {
    throw new Error(
      `@elementwise/backend-node-cuda: EW_CUDA must be 'auto', 'force' or 'off', got '${mode}'`,
    );
  }
  if (mode === 'force' && info.path !== 'cuda') {
    throw new Error(
      `@elementwise/backend-node-cuda: EW_CUDA=force but the CUDA path is unavailable: ${info.reason}`,
    );
  }
}

const loaded = load();
checkMode(loaded.info);

/** Which path the kernels run on, the device, and why. */
export function backendInfo(): BackendInfo {
  return { ...loaded.info };
}

/** The loaded addon; throws an error naming what is missing when none loaded. */
export function nativeAddon(): NativeAddon {
  if (loaded.addon === undefined) {
    throw new Error(`@elementwise/backend-node-cuda: ${loaded.info.reason}`);
  }
  return loaded.addon;
}
