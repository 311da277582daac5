import type { SeededRandom } from '../random.js';

/** Whether a forward pass trains (dropout on, seeded by `random`) or infers (dropout off). */
export interface ForwardContext {
  training: boolean;
  random?: SeededRandom;
}

export const INFERENCE: ForwardContext = { training: false };
