import { WasmHeapExhaustedError } from '@elementwise/backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createModel, evaluate, GenerationSession, train } from '../src/index.js';
import { AdamW } from '../src/training/adamw.js';
import { cleanUp } from '../src/training/cleanup.js';
import { explainWasmFailure } from '../src/training/wasm_failure.js';
import { TEXT, tinyCharLM, useBackend } from './helpers.js';

/**
 * When tfjs-backend-wasm runs out of its 4 GiB heap, its module aborts ("Aborted()") and every
 * later call into it traps ("memory access out of bounds"), the disposals in `finally` blocks
 * included. Here both are faked with spies (no heap is really exhausted): the abort where the
 * work runs, the trap in the cleanup that follows. The error that comes out must explain the
 * abort, never be the cleanup's trap.
 */

const aborted = () =>
  new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
const trap = () => new WebAssembly.RuntimeError('memory access out of bounds');

const text = { kind: 'text' as const, text: TEXT };
const EXPLAINED =
  /out of its 4 GiB heap \(the heap is at \d+ bytes, [\d.]+ GiB\)\. tfjs-backend-wasm aborts for good after such a failure, so the wasm backend can no longer be used in this process\. Reduce /;

/** Makes the optimizer's disposal trap after it has disposed its tensors, as after an abort. */
function trappingOptimizerDispose(): void {
  const dispose = AdamW.prototype.dispose;
  vi.spyOn(AdamW.prototype, 'dispose').mockImplementation(function (this: AdamW) {
    dispose.call(this);
    throw trap();
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a tfjs wasm abort becomes a clear error', () => {
  it('train: names the step, batch, context, dModel and layers; the trapping cleanup does not mask it', async () => {
    await useBackend('wasm');
    const tensors = tf.memory().numTensors;
    const model = createModel(tinyCharLM(), { seed: 1 });
    let calls = 0;
    const loss = model.loss.bind(model);
    vi.spyOn(model, 'loss').mockImplementation((batch, context) => {
      if (++calls === 2) throw aborted();
      return loss(batch, context);
    });
    trappingOptimizerDispose();
    const error = await rejection(
      train(model, { train: text }, { steps: 3, batchSize: 2, learningRate: 1e-3, seed: 1 }),
    );
    expect(error.message).toMatch(
      /^train: the tfjs wasm backend failed \(Aborted\(\)\. Build with -sASSERTIONS for more info\.\) during training step 2 \(batch 2 × context 16\) at dModel 16, 2 layers: /,
    );
    expect(error.message).toMatch(EXPLAINED);
    expect(error.message).toMatch(/Reduce batchSize, maxLength \(the context\) or dModel, then/);
    expect(error.cause).toBeInstanceOf(WebAssembly.RuntimeError);
    model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('train: a failing validation is named as such', async () => {
    await useBackend('wasm');
    const model = createModel(tinyCharLM(), { seed: 1 });
    vi.spyOn(model, 'metricSums').mockRejectedValue(trap());
    trappingOptimizerDispose();
    const error = await rejection(
      train(
        model,
        { train: text, validation: text },
        { steps: 1, batchSize: 2, learningRate: 1e-3, seed: 1 },
      ),
    );
    expect(error.message).toMatch(
      /^train: the tfjs wasm backend failed \(memory access out of bounds\) during validation \(batches of 2 × context 16\) at dModel 16, 2 layers: /,
    );
    model.dispose();
  });

  it('on another backend the same RuntimeError passes through unchanged, still unmasked', async () => {
    await useBackend('cpu');
    const model = createModel(tinyCharLM(), { seed: 1 });
    const original = aborted();
    vi.spyOn(model, 'loss').mockImplementation(() => {
      throw original;
    });
    trappingOptimizerDispose();
    const error = await rejection(
      train(model, { train: text }, { steps: 1, batchSize: 2, learningRate: 1e-3, seed: 1 }),
    );
    expect(error).toBe(original);
    model.dispose();
  });

  it('evaluate: names the batches and context', async () => {
    await useBackend('wasm');
    const model = createModel(tinyCharLM(), { seed: 1 });
    vi.spyOn(model, 'metricSums').mockRejectedValue(aborted());
    const error = await rejection(evaluate(model, text, { batchSize: 4 }));
    expect(error.message).toMatch(
      /^evaluate: the tfjs wasm backend failed \(Aborted\(\)\. .*\) during evaluation \(batches of 4 × context 16\) at dModel 16, 2 layers: /,
    );
    expect(error.message).toMatch(EXPLAINED);
    model.dispose();
  });

  it('CharLM.generate: the session disposal that traps does not mask the abort', async () => {
    await useBackend('wasm');
    const tensors = tf.memory().numTensors;
    const model = createModel(tinyCharLM(), { seed: 1 });
    vi.spyOn(GenerationSession.prototype, 'step').mockRejectedValue(aborted());
    const dispose = GenerationSession.prototype.dispose;
    vi.spyOn(GenerationSession.prototype, 'dispose').mockImplementation(function (
      this: GenerationSession,
    ) {
      dispose.call(this);
      throw trap();
    });
    const produced: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const c of model.generate('it was', { maxTokens: 5, seed: 1 })) produced.push(c);
      })(),
    );
    expect(produced).toHaveLength(1);
    expect(error.message).toMatch(
      /^CharLM\.generate: the tfjs wasm backend failed \(Aborted\(\)\. .*\) during generation \(prompt of 6 characters, maxLength 16\) at dModel 16, 2 layers: /,
    );
    expect(error.message).toMatch(/Reduce maxLength \(the context\) or dModel, then/);
    vi.restoreAllMocks();
    model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it("train: an allocation refused by @elementwise/backend-cpu's malloc guard gets the step's shape, and the backend goes on", async () => {
    await useBackend('wasm');
    const tensors = tf.memory().numTensors;
    const model = createModel(tinyCharLM(), { seed: 1 });
    // Importing @elementwise/backend-cpu guarded the backend when useBackend activated it.
    const loss = model.loss.bind(model);
    const spy = vi.spyOn(model, 'loss').mockImplementation((batch, context) => {
      // A tensor within 64 bytes of 4 GiB: malloc refuses it at once, without growing the heap.
      tf.zeros([2 ** 30 - 4]);
      return loss(batch, context);
    });
    const options = { steps: 2, batchSize: 2, learningRate: 1e-3, seed: 1 };
    const error = await rejection(train(model, { train: text }, options));
    expect(error.message).toMatch(
      /^train: out of memory during training step 1 \(batch 2 × context 16\) at dModel 16, 2 layers: tfjs wasm backend: could not allocate 4294967280 bytes on its WebAssembly heap; the heap is at \d+ bytes .* The allocation was refused before anything was written, so the wasm backend stays usable\.$/,
    );
    expect(error.cause).toBeInstanceOf(WasmHeapExhaustedError);
    spy.mockRestore();
    const { history } = await train(model, { train: text }, options);
    expect(history).toHaveLength(2);
    model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('other errors, and other RuntimeErrors, are left as they are', async () => {
    await useBackend('wasm');
    const work = {
      where: 'x',
      during: 'y',
      config: { dModel: 1, numLayers: 1 },
      reduce: 'z',
    };
    const plain = new Error('Aborted()');
    expect(explainWasmFailure(plain, work)).toBe(plain);
    const unreachable = new WebAssembly.RuntimeError('unreachable');
    expect(explainWasmFailure(unreachable, work)).toBe(unreachable);
  });

  it("the malloc guard's error is recognised by its identity (name and code), not by its text", () => {
    const work = { where: 'x', during: 'y', config: { dModel: 1, numLayers: 1 }, reduce: 'z' };
    const refused = new WasmHeapExhaustedError(8, 65536, 'some other wording');
    const explained = explainWasmFailure(refused, work) as Error;
    expect(explained.message).toBe(
      'x: out of memory during y at dModel 1, 1 layers: some other wording The allocation was refused before anything was written, so the wasm backend stays usable.',
    );
    expect(explained.cause).toBe(refused);
    // The guard's wording on a plain Error (anyone's message) is not the guard's error.
    const lookalike = new Error(
      'tfjs wasm backend: could not allocate 8 bytes on its WebAssembly heap; the heap is at 65536 bytes.',
    );
    expect(explainWasmFailure(lookalike, work)).toBe(lookalike);
  });
});

describe('cleanUp', () => {
  const failing = () => {
    throw new Error('cleanup failed');
  };
  it('throws its error when nothing failed before', () => {
    expect(() => cleanUp(failing, false)).toThrow('cleanup failed');
  });
  it('drops its error after a failure, so the failure is what gets reported', () => {
    expect(() => cleanUp(failing, true)).not.toThrow();
  });
});
