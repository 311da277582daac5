import type { PageOptions } from '../shared/page_options.js';
import type { BackendDetails } from '../shared/protocol.js';
import type { WorkerClient } from '../ui/worker_client.js';

/** What every panel needs: the current worker (it changes with the backend) and the URL's options. */
export interface AppContext {
  options: PageOptions;
  client(): WorkerClient;
  /** The active backend once the worker has set it up. */
  backend(): Promise<BackendDetails>;
}

/** A fresh sampling seed per run, so two runs give two texts. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** A form field's value as a number in [min, max]; throws naming the field otherwise. */
export function numberField(input: HTMLInputElement, label: string): number {
  const value = input.valueAsNumber;
  const min = Number(input.min);
  const max = Number(input.max || Number.POSITIVE_INFINITY);
  const integer = input.step === '1';
  if (
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw new Error(
      `${label} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${input.value}"`,
    );
  }
  return value;
}
