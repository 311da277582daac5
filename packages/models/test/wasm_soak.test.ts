import { kernelImplementation, registerCpuKernels } from '@elementwise/backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type AttentionConfig, type CharLM, createModel, evaluate, train } from '../src/index.js';
import { TEXT, tinyCharLM, useBackend } from './helpers.js';

/**
 * A bounded soak on tfjs wasm with the fused kernels (which compute in place on the backend's
 * heap, with scratch from its allocator): models are created, trained a few steps, evaluated,
 * asked to generate and disposed, in a loop mixing shapes (channels a multiple of 4 run in
 * place, others on copies) and attention kinds. Tensors made before and during the loop must
 * keep their exact contents, no tensor may be left behind, and the backend must still compute.
 */

const SOAK_MS = 10_000;
const MIN_ROUNDS = 6;

/** Deterministic contents that no kernel would produce by chance. */
function sentinel(size: number, salt: number): { tensor: tf.Tensor; values: Float32Array } {
  const values = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37 + salt) * 1e3);
  return { tensor: tf.tensor1d(values), values };
}

function expectIntact(s: { tensor: tf.Tensor; values: Float32Array }, name: string): void {
  const got = s.tensor.dataSync();
  let changed = -1;
  for (let i = 0; i < got.length && changed < 0; i++) if (got[i] !== s.values[i]) changed = i;
  expect(changed, `${name}: first changed element`).toBe(-1);
}

const ATTENTIONS: AttentionConfig[] = [
  { kind: 'ea', order: 6 },
  { kind: 'ea', order: 2 },
  { kind: 'softmax' },
  { kind: 'ea', order: 0 },
];

describe('soak on tfjs wasm with the fused kernels', () => {
  it('trainings, evaluations, generations and disposals leave other tensors and the backend intact', async () => {
    await useBackend('wasm');
    registerCpuKernels();
    expect(kernelImplementation()).toBe('wasm-simd');
    const tensorsAtStart = tf.memory().numTensors;
    const early = [sentinel(10_000, 1), sentinel(3, 2), sentinel(65_536, 3)];
    const int32 = tf.tensor1d([7, -3, 2 ** 30, 0], 'int32');

    const heapBytes = () =>
      (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
    const heapAtStart = heapBytes();

    const started = performance.now();
    let rounds = 0;
    let fusedRuns = 0;
    while (rounds < MIN_ROUNDS || performance.now() - started < SOAK_MS) {
      const attention = ATTENTIONS[rounds % ATTENTIONS.length];
      // dModel 12 runs the SIMD kernels in place on the heap, 10 on padded copies.
      const dModel = rounds % 2 === 0 ? 12 : 10;
      const maxLength = 8 + 8 * (rounds % 3);
      const model: CharLM = createModel(
        tinyCharLM({ attention, dModel, numHeads: 2, maxLength, dropout: 0.1 }),
        { seed: rounds },
      );
      const during = sentinel(4096 + rounds, 10 + rounds);
      if (attention.kind === 'ea' && rounds < ATTENTIONS.length) {
        const ids = tf.tensor2d(
          Array.from(model.encode(TEXT.slice(0, maxLength))),
          [1, maxLength],
          'int32',
        );
        const profile = await tf.profile(() => model.logits(ids as tf.Tensor2D));
        tf.dispose([ids, profile.result as tf.Tensor]);
        if (profile.kernels.some((k) => k.name === 'ElementwiseAttentionForward')) fusedRuns++;
      }
      if (rounds === 1) {
        // Grow the heap once mid-soak: growth replaces the heap's buffer, and the kernels must
        // keep working on the new one.
        tf.dispose(tf.fill([heapAtStart / 2], 1.5));
      }
      const text = { kind: 'text' as const, text: TEXT.slice(rounds % 7) };
      await train(
        model,
        { train: text, validation: text },
        {
          steps: 3,
          batchSize: 1 + (rounds % 3),
          learningRate: 1e-3,
          clipNorm: 1,
          evalEvery: 3,
          evalBatches: 1,
          seed: rounds,
        },
      );
      const metrics = await evaluate(model, text, { batchSize: 4 });
      expect(Number.isFinite(metrics.loss), `round ${rounds}: finite loss`).toBe(true);
      let generated = '';
      for await (const c of model.generate('it was the ', {
        maxTokens: maxLength + 3,
        seed: rounds,
      })) {
        generated += c;
      }
      expect(generated).toHaveLength(maxLength + 3);
      model.dispose();
      expectIntact(during, `round ${rounds}: tensor made before its model`);
      during.tensor.dispose();
      rounds++;
    }

    expect(fusedRuns, 'EA models ran the fused forward').toBe(3);
    expect(heapBytes(), 'the heap grew during the soak').toBeGreaterThan(heapAtStart);
    for (const [i, s] of early.entries()) expectIntact(s, `sentinel ${i}`);
    expect(Array.from(int32.dataSync())).toEqual([7, -3, 2 ** 30, 0]);
    tf.dispose([...early.map((s) => s.tensor), int32]);
    expect(tf.memory().numTensors, 'tensors left behind').toBe(tensorsAtStart);
    const product = tf.tidy(() =>
      tf
        .matMul(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), tf.tensor2d([7, 8, 9, 10, 11, 12], [3, 2]))
        .dataSync(),
    );
    expect(Array.from(product)).toEqual([58, 64, 139, 154]);
    expect(tf.memory().numTensors).toBe(tensorsAtStart);
    console.info(`[wasm soak] ${rounds} rounds in ${Math.round(performance.now() - started)} ms`);
  });
});
