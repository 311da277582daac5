import { BACKEND_ORDER, type BackendName } from './protocol.js';
import { DEFAULT_SPEED_LENGTHS, parseLengths } from './speed_plan.js';

/**
 * Options a user (or a test) can put in the page's URL, e.g.
 * `?backend=wasm&lengths=256,512,1024&trainSteps=20`:
 * - `backend`: webgpu, webgl or wasm instead of the first available one;
 * - `lengths`: the speed panel's sequence lengths (default 256 … 16384);
 * - `budget`: seconds one speed measurement may be predicted to take (default 10);
 * - `trainSteps`: the training panel's default number of steps (default 300);
 * - `maxTokens`: the generate panel's default number of characters (default 300).
 */
export interface PageOptions {
  backend: BackendName | 'auto';
  lengths: number[];
  budgetSeconds: number;
  trainSteps: number;
  maxTokens: number;
  /** Parameters that were given but not understood, in words. */
  problems: string[];
}

function positiveInteger(value: string | null, fallback: number, name: string, problems: string[]) {
  if (value === null) return fallback;
  const n = Number(value);
  if (Number.isInteger(n) && n > 0) return n;
  problems.push(`${name}=${value} is not a positive integer; using ${fallback}`);
  return fallback;
}

export function readPageOptions(search: string): PageOptions {
  const params = new URLSearchParams(search);
  const problems: string[] = [];
  const backendParam = params.get('backend');
  let backend: PageOptions['backend'] = 'auto';
  if (backendParam !== null) {
    if ((BACKEND_ORDER as readonly string[]).includes(backendParam)) {
      backend = backendParam as BackendName;
    } else {
      problems.push(`backend=${backendParam} is not one of ${BACKEND_ORDER.join(', ')}`);
    }
  }
  let lengths: number[] = [...DEFAULT_SPEED_LENGTHS];
  const lengthsParam = params.get('lengths');
  if (lengthsParam !== null) {
    const parsed = parseLengths(lengthsParam);
    if (parsed) lengths = parsed;
    else problems.push(`lengths=${lengthsParam} is not a list of integers in 1 … 65536`);
  }
  return {
    backend,
    lengths,
    budgetSeconds: positiveInteger(params.get('budget'), 10, 'budget', problems),
    trainSteps: positiveInteger(params.get('trainSteps'), 300, 'trainSteps', problems),
    maxTokens: positiveInteger(params.get('maxTokens'), 300, 'maxTokens', problems),
    problems,
  };
}
