import { groupFeatureCount } from '@elementwise/math';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { checkKernelCall, kernelRecordPlan } from '../src/authoring/index.js';
import {
  type ContractDim,
  type KernelContract,
  type KernelForm,
  kernelContracts,
  kernelRecordFields,
} from '../src/index.js';

const SIZES: Record<ContractDim, number> = { B: 2, Lq: 5, L: 5, D: 6, T: 5, F: 0, G: 2 };
const ORDER = 4;
const GROUP_SIZE = 3;
SIZES.F = groupFeatureCount(GROUP_SIZE, ORDER);

const ATTRS: Record<KernelForm, NamedAttrMap> = {
  forward: { order: ORDER, causal: true },
  backward: { order: ORDER, causal: true },
  step: { order: ORDER },
  groupedStep: { order: ORDER, groupSize: GROUP_SIZE },
};

const info = (shape: number[]): TensorInfo => ({ dataId: {}, shape, dtype: 'float32' });

function validInputs(contract: KernelContract): Record<string, TensorInfo> {
  return Object.fromEntries(
    Object.entries(contract.inputs).map(([name, dims]) => [
      name,
      info(dims.map((dim) => SIZES[dim])),
    ]),
  );
}

const forms = Object.keys(kernelContracts) as KernelForm[];

describe('the kernel contract as data', () => {
  it.each(forms)('%s: a call that keeps the contract gives its sizes and output shapes', (form) => {
    const contract: KernelContract = kernelContracts[form];
    const call = checkKernelCall(form, validInputs(contract), ATTRS[form]);
    expect(call.order).toBe(ORDER);
    expect(call.outputShapes).toEqual(
      Object.values(contract.outputs).map((dims) => dims.map((dim) => SIZES[dim])),
    );
  });

  // Every input, every axis, lengthened by one. The first input holding B, Lq, L or D binds it,
  // so lengthening it there is reported at the next input holding that size, or is a valid call
  // with a longer size where no other input holds it.
  const wrongAxes = forms.flatMap((form) =>
    Object.entries(kernelContracts[form].inputs as KernelContract['inputs']).flatMap(
      ([name, dims]) => dims.map((_, axis) => [form, name, axis] as const),
    ),
  );
  it.each(wrongAxes)('%s: %s one longer on axis %i', (form, name, axis) => {
    const contract: KernelContract = kernelContracts[form];
    const attrs = { ...ATTRS[form], causal: false };
    const inputs = validInputs(contract);
    const shape = [...inputs[name].shape];
    shape[axis] += 1;
    inputs[name] = info(shape);
    const dim = contract.inputs[name][axis];
    const holders = Object.keys(contract.inputs).filter((input) =>
      contract.inputs[input].includes(dim),
    );
    const free = ['B', 'Lq', 'L', 'D'].includes(dim);
    const reported = free && holders[0] === name ? holders[1] : name;
    if (form === 'groupedStep' && dim === 'D' && reported !== name) {
      // D = 7 is no multiple of groupSize 3: the attr check speaks first.
      expect(() => checkKernelCall(form, inputs, attrs)).toThrow('divides D = 7, got 3');
    } else if (reported === undefined) {
      expect(checkKernelCall(form, inputs, attrs).sizes[dim]).toBe(SIZES[dim] + 1);
    } else {
      expect(() => checkKernelCall(form, inputs, attrs)).toThrow(
        `${contract.kernelName}: ${reported} must have shape [`,
      );
    }
  });

  it.each(forms)('%s: an input of the wrong rank or missing is refused, naming it', (form) => {
    const contract: KernelContract = kernelContracts[form];
    for (const name of Object.keys(contract.inputs)) {
      const inputs = validInputs(contract);
      inputs[name] = info([...inputs[name].shape, 1]);
      expect(() => checkKernelCall(form, inputs, ATTRS[form])).toThrow(
        `${contract.kernelName}: ${name} must have shape [${contract.inputs[name].join(', ')}], got [`,
      );
      delete inputs[name];
      expect(() => checkKernelCall(form, inputs, ATTRS[form])).toThrow(
        `${contract.kernelName}: ${name} must have shape [${contract.inputs[name].join(', ')}], got nothing`,
      );
    }
  });

  it('checks the attrs: causal Lq == L, series orders for the steps, groupSize dividing D', () => {
    const forward = validInputs(kernelContracts.forward);
    forward.q = info([2, 4, 6]);
    expect(() => checkKernelCall('forward', forward, ATTRS.forward)).toThrow(
      'ElementwiseAttentionForward: causal needs Lq == L, got Lq = 4 and L = 5',
    );
    expect(
      checkKernelCall('forward', forward, { order: ORDER, causal: false }).sizes,
    ).toMatchObject({ Lq: 4, L: 5 });
    expect(() =>
      checkKernelCall('step', validInputs(kernelContracts.step), { order: 'exact' }),
    ).toThrow("ElementwiseAttentionStep: order 'exact' has no recurrent form");
    for (const groupSize of [1, 4, 2.5, undefined]) {
      expect(() =>
        checkKernelCall('groupedStep', validInputs(kernelContracts.groupedStep), {
          order: ORDER,
          groupSize: groupSize as number,
        }),
      ).toThrow(
        `ElementwiseAttentionGroupedStep: groupSize must be an integer >= 2 that divides D = 6, got ${groupSize}`,
      );
    }
    expect(() =>
      checkKernelCall('forward', validInputs(kernelContracts.forward), { order: 3 }),
    ).toThrow('ElementwiseAttentionForward: order must be an even integer');
  });

  it('names the fields of each parameter record: inputs, outputs, sizes, attrs', () => {
    const inputs = 'q k v mask initialS initialZ'.split(' ');
    const sizesAndAttrs = 'batch queries keys channels order causal'.split(' ');
    expect(kernelRecordFields('forward')).toEqual([
      ...inputs,
      ...['y', 'finalS', 'finalZ'],
      ...sizesAndAttrs,
    ]);
    expect(kernelRecordFields('backward')).toEqual([
      ...inputs,
      ...['dy', 'dFinalS', 'dFinalZ', 'dq', 'dk', 'dv', 'dInitialS', 'dInitialZ'],
      ...sizesAndAttrs,
    ]);
    const step = 'q k v s z y nextS nextZ batch channels order'.split(' ');
    expect(kernelRecordFields('step')).toEqual(step);
    expect(kernelRecordFields('groupedStep')).toEqual([...step, 'groupSize']);
  });

  it.each(forms)('%s: the record plan holds exactly the record fields, in their order', (form) => {
    const contract: KernelContract = kernelContracts[form];
    const inputs = validInputs(contract);
    const plan = kernelRecordPlan(form, inputs, ATTRS[form]);
    const fields = [
      ...plan.inputs.map(([name]) => name),
      ...plan.outputs.map(([name]) => name),
      ...Object.keys(plan.scalars),
    ];
    expect(fields.sort()).toEqual(kernelRecordFields(form).sort());
    expect(plan.inputs.map(([name]) => name)).toEqual(Object.keys(contract.inputs));
    for (const [name, info] of plan.inputs) expect(info).toBe(inputs[name]);
    expect(plan.outputs.map(([, shape]) => shape)).toEqual(plan.call.outputShapes);
    expect(plan.scalars).toMatchObject({ batch: SIZES.B, channels: SIZES.D, order: ORDER });
    if (form === 'forward' || form === 'backward') {
      expect(plan.scalars).toMatchObject({ queries: SIZES.Lq, keys: SIZES.L, causal: true });
    }
    if (form === 'groupedStep') expect(plan.scalars.groupSize).toBe(GROUP_SIZE);
  });
});
