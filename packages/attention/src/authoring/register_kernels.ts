import {
  getKernel,
  type KernelConfig,
  registerKernel,
  unregisterKernel,
} from '@tensorflow/tfjs-core';

export interface RegisterKernelsOptions {
  /**
   * Replace kernels of the same names that another adapter registered for the same backends.
   * Default false: such a conflict is refused with an error naming both adapters.
   */
  override?: boolean;
  /**
   * What a refused conflict does: `'throw'` (default) or `'warn'`, which keeps the other
   * adapter's kernels and says so on the console: adapters register on import that way, so that
   * importing two of them cannot fail an import, while nothing happens silently.
   */
  onConflict?: 'throw' | 'warn';
}

/**
 * Which adapter registered each kernel, by `backend/name`. Kept on `globalThis` so that two
 * copies of this package (a bundler's duplicate) still see one another's registrations.
 */
const OWNERS_KEY = Symbol.for('@elementwise/attention kernel owners');

function owners(): Map<string, { adapter: string; config: KernelConfig }> {
  const global = globalThis as unknown as Record<symbol, unknown>;
  global[OWNERS_KEY] ??= new Map();
  return global[OWNERS_KEY] as Map<string, { adapter: string; config: KernelConfig }>;
}

/**
 * Registers an adapter's kernels with the tfjs engine. Registering the same configs again is
 * harmless. A kernel that another adapter (or other code) registered under the same name and
 * backend is never kept silently: the call throws (or, with `onConflict: 'warn'`, warns and
 * keeps it), naming the kernel, the backend and who registered it, unless `{override: true}`
 * asks to replace it. Nothing is registered when the call throws.
 */
export function registerKernels(
  adapter: string,
  configs: readonly KernelConfig[],
  options: RegisterKernelsOptions = {},
): void {
  const registry = owners();
  const conflicts = configs.filter((config) => {
    const existing = getKernel(config.kernelName, config.backendName);
    return existing != null && existing.kernelFunc !== config.kernelFunc;
  });
  if (conflicts.length > 0 && options.override !== true) {
    const described = conflicts.map((config) => {
      const owner = registry.get(`${config.backendName}/${config.kernelName}`);
      const current = getKernel(config.kernelName, config.backendName)?.kernelFunc;
      const by = owner?.config.kernelFunc === current ? owner?.adapter : undefined;
      return `${config.kernelName} for '${config.backendName}' (registered by ${by ?? 'other code'})`;
    });
    const message =
      `${adapter}: ${described.join(', ')} ${conflicts.length === 1 ? 'is' : 'are'} already registered; ` +
      `two adapters for the same backend cannot both be active. Import only one, or call ` +
      `its register function with {override: true} to replace the other's kernels.`;
    if (options.onConflict !== 'warn') throw new Error(message);
    console.warn(`${message} Keeping the kernels registered first.`);
  }
  for (const config of configs) {
    const existing = getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing != null && options.override !== true) continue; // announced above
    if (existing != null) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
    registry.set(`${config.backendName}/${config.kernelName}`, { adapter, config });
  }
}
