import { type SoftmaxVariant, softmaxAttention } from '@elementwise/attention';
import type * as tf from '@tensorflow/tfjs-core';
import { type Cell, formatRatioOf } from './format.js';
import { causalEa, lossGradients } from './gates.js';
import type { AttentionInputs } from './inputs.js';
import type { Computation } from './timing.js';

/** What one timed call computes: the output, or the output and the gradients of q, k and v. */
export type Form = 'forward' | 'forward+backward';
export const FORMS: readonly Form[] = ['forward', 'forward+backward'];

export type Attention = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D;

/** One call of `attention` on `inputs` in this form; the backward is that of Σ y ⊙ cotangent. */
export function formCall(form: Form, inputs: AttentionInputs, attention: Attention): Computation {
  return form === 'forward'
    ? () => attention(inputs.q, inputs.k, inputs.v)
    : () => lossGradients(attention, inputs);
}

/** The contestants of a backend's fused-kernel benchmark. */
export type KernelContestant = 'fused EA-6' | 'composite EA-6' | 'SA';
export const KERNEL_CONTESTANTS: readonly KernelContestant[] = [
  'fused EA-6',
  'composite EA-6',
  'SA',
];

/**
 * A backend's fused-kernel contest in one form: causal EA-6 with its fused kernels, the same op
 * run `withComposite` (the kernels unregistered around the call), and softmax attention in
 * `variant`.
 */
export function kernelContest(
  form: Form,
  inputs: AttentionInputs,
  withComposite: <T>(body: () => T) => T,
  variant: SoftmaxVariant,
): Record<KernelContestant, Computation> {
  const ea = formCall(form, inputs, causalEa(6));
  return {
    'fused EA-6': ea,
    'composite EA-6': () => withComposite(ea),
    SA: formCall(form, inputs, (q, k, v) => softmaxAttention(q, k, v, { causal: true, variant })),
  };
}

/** One contestant at one (length, form): timed, or skipped for a reason. */
export interface ContestEntry<Name extends string> {
  length: number;
  form: Form;
  contestant: Name;
  medianMs?: number;
  rounds?: number;
  skipped?: string;
}

/**
 * The rows of a contest table, one per (form, length): form, L, a cell per contestant, then each
 * later contestant's time over the first one's (how many times faster the first is), then
 * `extra` columns of the row's entries.
 */
export function contestRows<Name extends string, Entry extends ContestEntry<Name>>(
  entries: readonly Entry[],
  names: readonly Name[],
  lengths: readonly number[],
  cell: (entry?: Entry) => string,
  extra: (length: number, row: Array<Entry | undefined>) => Cell[] = () => [],
): Cell[][] {
  return FORMS.flatMap((form) =>
    lengths.map((length) => {
      const row = names.map((name) =>
        entries.find((e) => e.length === length && e.form === form && e.contestant === name),
      );
      const [first, ...rest] = row;
      const ratios = rest.map((entry) => formatRatioOf(entry?.medianMs, first?.medianMs));
      return [form, length, ...row.map(cell), ...ratios, ...extra(length, row)];
    }),
  );
}
