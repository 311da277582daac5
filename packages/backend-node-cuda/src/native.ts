import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttentionOrder } from '@elementwise/attention';

/**
 * Loads the native addon: the prebuilt binary shipped in `prebuilds/<platform>-<arch>/` first,
 * then a local build in `build/Release/` (or only the file named by `EW_ADDON`). Importing the package never fails because the addon
 * is missing (only `EW_CUDA=force` without a usable device fails the import); the kernels throw
 * an error naming what is missing instead.
 */

type Arrays<Name extends string> = Record<Name, Float32Array>;

/** Sizes of a forward or backward call: B, Lq, L and D of the kernel contract. */
export interface AttentionSizes {
  batch: number;
  queries: number;
  keys: number;
  channels: number;
}

type ForwardInput = 'q' | 'k' | 'v' | 'mask' | 'initialS' | 'initialZ';

/** Attrs of a forward or backward call. */
export interface AttentionAttrs {
  order: AttentionOrder;
  causal: boolean;
}

/** The record of one ElementwiseAttentionForward call: the contract's names, inputs and outputs. */
export type ForwardRecord = Arrays<ForwardInput | 'y' | 'finalS' | 'finalZ'> &
  AttentionSizes &
  AttentionAttrs;

/** The record of one ElementwiseAttentionBackward call. */
export type BackwardRecord = Arrays<
  ForwardInput | 'dy' | 'dFinalS' | 'dFinalZ' | 'dq' | 'dk' | 'dv' | 'dInitialS' | 'dInitialZ'
> &
  AttentionSizes &
  AttentionAttrs;

/** The record of one ElementwiseAttentionStep call. */
export type StepRecord = Arrays<'q' | 'k' | 'v' | 's' | 'z' | 'y' | 'nextS' | 'nextZ'> & {
  batch: number;
  channels: number;
  order: number;
};

/**
 * The addon's functions: each kernel takes one record of named fields and writes its outputs
 * into the record's output arrays. A missing field, or one of the wrong type or length, throws
 * an error naming the kernel and the field.
 */
export interface NativeAddon {
  forward(record: ForwardRecord): void;
  backward(record: BackwardRecord): void;
  step(record: StepRecord): void;
  /** The field names each kernel reads: sizes and attrs, then inputs, then outputs. */
  fields: Record<'forward' | 'backward' | 'step', string[]>;
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
