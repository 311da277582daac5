import type { OutputPoisoner } from '@elementwise/conformance';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type * as tf from '@tensorflow/tfjs-core';

/**
 * For tfjs `webgpu`: every float32 output a program allocates (the kernels' results and their
 * intermediates) is created from a NaN-filled array, which tfjs uploads into the GPU buffer
 * before the program runs. An element a program never writes then reads back as NaN, instead of
 * whatever a recycled buffer held.
 */
export const webgpuOutputPoisoner: OutputPoisoner = {
  description: 'float32 outputs of runWebGPUProgram are uploaded as NaN before the program writes',
  install(backend: tf.KernelBackend) {
    const target = backend as unknown as WebGPUBackend;
    const original = target.runWebGPUProgram;
    target.runWebGPUProgram = function poisoned(program, inputs, dtype, uniforms, output) {
      if (output == null && dtype === 'float32') {
        const size = program.outputShape.reduce((product, n) => product * n, 1);
        const values = new Float32Array(size).fill(Number.NaN);
        const poisonedOutput = this.makeTensorInfo(program.outputShape, dtype, values);
        return original.call(this, program, inputs, dtype, uniforms, poisonedOutput);
      }
      return original.call(this, program, inputs, dtype, uniforms, output);
    };
    return () => {
      target.runWebGPUProgram = original;
    };
  },
};
