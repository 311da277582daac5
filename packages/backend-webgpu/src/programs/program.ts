import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { flatDispatch } from './geometry.js';

/**
 * A WGSL compute program in the shape tfjs-backend-webgpu runs (`WebGPUProgram`). tfjs adds the
 * bindings (`result` for the output, one read-only array per name in `variableNames`) and the
 * `uniforms` struct holding every input's and the output's shape (`<name>Shape`), so sizes are
 * read in the shader and one compiled pipeline serves every shape.
 *
 * Two launch layouts:
 * - `grid`: one workgroup per cell of a 3-D grid; the code defines `fn main()` and reads
 *   `workgroupId` and `localId`.
 * - `threads`: a flat range of invocations; the code defines `fn main(index : i32)` and must
 *   ignore indices past the range.
 */
export type Launch = { grid: [number, number, number] } | { threads: number };

export interface ProgramSpec {
  /** Distinguishes compiled pipelines: the program name and every parameter baked into the code. */
  key: string;
  variableNames: string[];
  outputShape: number[];
  workgroupSize: number;
  launch: Launch;
  code: string;
}

export const GRID_MAIN = 'fn main()';
export const FLAT_MAIN = 'fn main(index : i32)';

export class ElementwiseAttentionProgram implements WebGPUProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  shaderKey: string;
  readonly dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number];
  private readonly code: string;

  constructor(spec: ProgramSpec) {
    this.variableNames = spec.variableNames;
    this.outputShape = spec.outputShape;
    this.shaderKey = `elementwise_attention_${spec.key}`;
    this.workgroupSize = [spec.workgroupSize, 1, 1];
    this.code = spec.code;
    if ('grid' in spec.launch) {
      // A non-flat layout makes tfjs call main() without a global index.
      this.dispatchLayout = { x: [0], y: [1], z: [2] };
      this.dispatch = spec.launch.grid;
    } else {
      this.dispatchLayout = { x: spec.outputShape.map((_, axis) => axis) };
      this.dispatch = flatDispatch(spec.launch.threads, spec.workgroupSize);
    }
  }

  getUserCode(): string {
    return this.code;
  }
}
