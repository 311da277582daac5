import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerKernels } from '../src/authoring/index.js';

/** Kernel configs of a made-up adapter, under names no real kernel uses. */
function adapterConfigs(tag: string, names = ['FakeKernelA', 'FakeKernelB']): tf.KernelConfig[] {
  return names.map((kernelName) => ({
    kernelName,
    backendName: 'cpu',
    kernelFunc: () => {
      throw new Error(`${tag} ${kernelName} is not meant to run`);
    },
  }));
}

const owner = (name: string) => tf.getKernel(name, 'cpu')?.kernelFunc;

afterEach(() => {
  for (const name of ['FakeKernelA', 'FakeKernelB', 'FakeKernelC']) {
    if (tf.getKernel(name, 'cpu')) tf.unregisterKernel(name, 'cpu');
  }
  vi.restoreAllMocks();
});

describe('registerKernels', () => {
  it('registers an adapter, and registering the same configs again is harmless and silent', () => {
    const warn = vi.spyOn(console, 'warn');
    const first = adapterConfigs('first');
    registerKernels('first-adapter', first);
    registerKernels('first-adapter', first);
    expect(owner('FakeKernelA')).toBe(first[0].kernelFunc);
    expect(owner('FakeKernelB')).toBe(first[1].kernelFunc);
    expect(warn).not.toHaveBeenCalled();
  });

  it("refuses another adapter's kernels, naming each conflict and who holds it, and registers none of them", () => {
    const first = adapterConfigs('first', ['FakeKernelA']);
    registerKernels('first-adapter', first);
    const second = adapterConfigs('second', ['FakeKernelC', 'FakeKernelA']);
    expect(() => registerKernels('second-adapter', second)).toThrow(
      "second-adapter: FakeKernelA for 'cpu' (registered by first-adapter) is already registered; two adapters for the same backend cannot both be active. Import only one, or call its register function with {override: true} to replace the other's kernels.",
    );
    expect(owner('FakeKernelA')).toBe(first[0].kernelFunc);
    expect(tf.getKernel('FakeKernelC', 'cpu')).toBeUndefined();
  });

  it("with onConflict 'warn', keeps the kernels registered first and says so", () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const first = adapterConfigs('first', ['FakeKernelA']);
    registerKernels('first-adapter', first);
    const second = adapterConfigs('second', ['FakeKernelA', 'FakeKernelB']);
    registerKernels('second-adapter', second, { onConflict: 'warn' });
    expect(owner('FakeKernelA')).toBe(first[0].kernelFunc);
    expect(owner('FakeKernelB')).toBe(second[1].kernelFunc);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toContain(
      "FakeKernelA for 'cpu' (registered by first-adapter)",
    );
    expect(String(warn.mock.calls[0][0])).toContain('Keeping the kernels registered first.');
  });

  it('with override, replaces them; a later conflict names the new owner', () => {
    registerKernels('first-adapter', adapterConfigs('first', ['FakeKernelA']));
    const second = adapterConfigs('second', ['FakeKernelA']);
    registerKernels('second-adapter', second, { override: true });
    expect(owner('FakeKernelA')).toBe(second[0].kernelFunc);
    expect(() =>
      registerKernels('third-adapter', adapterConfigs('third', ['FakeKernelA'])),
    ).toThrow('(registered by second-adapter)');
  });

  it('names a kernel registered without it as registered by other code', () => {
    tf.registerKernel(adapterConfigs('plain', ['FakeKernelA'])[0]);
    expect(() => registerKernels('an-adapter', adapterConfigs('mine', ['FakeKernelA']))).toThrow(
      '(registered by other code)',
    );
  });
});
