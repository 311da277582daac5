import {
  type ContractAttr,
  type ContractDim,
  type KernelContract,
  kernelContracts,
} from '@elementwise/attention';
import { groupFeatureCount } from '@elementwise/math';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect } from 'vitest';
import type { Kit } from '../kit.js';
import { KERNEL_FORMS } from '../options.js';
import { randomNormal } from '../random.js';

const ORDER = 4;
const GROUP_SIZE = 2;
const SIZES: Record<ContractDim, number> = {
  B: 2,
  Lq: 3,
  L: 3,
  D: 4,
  T: ORDER + 1,
  F: groupFeatureCount(GROUP_SIZE, ORDER),
  G: 4 / GROUP_SIZE,
};
/** A valid value of each kind of attr, so each kernel's attrs follow from its contract. */
const ATTR_VALUES: Record<ContractAttr, number | boolean> = {
  order: ORDER,
  seriesOrder: ORDER,
  boolean: true,
  groupSize: GROUP_SIZE,
};

const attrsOf = (contract: KernelContract): tf.NamedAttrMap =>
  Object.fromEntries(
    Object.entries(contract.attrs).map(([name, kind]) => [name, ATTR_VALUES[kind]]),
  );

/**
 * Inputs of the shapes the contract gives. Masks are all ones and states start at zero, so every
 * denominator is positive; values do not matter here, only what the kernel accepts and returns.
 */
function contractInputs(contract: KernelContract): Record<string, tf.Tensor> {
  return Object.fromEntries(
    Object.entries(contract.inputs).map(([name, dims], seed) => {
      const shape = dims.map((dim) => SIZES[dim]);
      if (name === 'mask') return [name, tf.ones(shape)];
      if (/^(initial|dFinal)|^[sz]$/.test(name)) return [name, tf.zeros(shape)];
      return [name, tf.tensor(randomNormal(tf.util.sizeFromShape(shape), seed), shape)];
    }),
  );
}

/**
 * The contract's kernels called directly, as the op calls them: every case is derived from the
 * contract's data (`kernelContracts`), so a kernel added to the contract is checked here without
 * a new case. A fused kernel returns the outputs the contract lists, in its order and shapes, and
 * refuses an input of another shape by name without leaking.
 */
export function contractSuite(kit: Kit): void {
  describe('the kernel contract, called directly', () => {
    for (const form of KERNEL_FORMS) {
      const contract: KernelContract = kernelContracts[form];
      kit.test(`${contract.kernelName} returns the contract's outputs`, (context) => {
        kit.requireFused(context, form);
        const inputs = contractInputs(contract);
        const outputs = tf.engine().runKernel(contract.kernelName, inputs, attrsOf(contract));
        const list = (Array.isArray(outputs) ? outputs : [outputs]) as tf.Tensor[];
        expect(list.map((t) => t.shape)).toEqual(
          Object.values(contract.outputs).map((dims) => dims.map((dim) => SIZES[dim])),
        );
        expect(list.map((t) => t.dtype)).toEqual(list.map(() => 'float32'));
        tf.dispose([...list, ...Object.values(inputs)]);
      });

      kit.test(`${contract.kernelName} refuses each input of a wrong shape by name`, (context) => {
        kit.requireFused(context, form);
        for (const name of Object.keys(contract.inputs)) {
          const inputs = contractInputs(contract);
          const wrong = tf.zeros([...inputs[name].shape, 1]);
          expect(
            () =>
              tf
                .engine()
                .runKernel(contract.kernelName, { ...inputs, [name]: wrong }, attrsOf(contract)),
            name,
          ).toThrow(`${contract.kernelName}: ${name} must have shape`);
          tf.dispose([wrong, ...Object.values(inputs)]);
        }
      });
    }
  });
}
