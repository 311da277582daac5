import { ElementwiseAttentionProgram, FLAT_MAIN } from './program.js';

/**
 * WGSL shared by every program: the zero-denominator rule, the per-element launch and the packed
 * outputs.
 */

/**
 * The zero-denominator rule: float32 denominators below the smallest normal number count as zero
 * (GPUs may flush subnormals to zero anyway, so every device agrees); such a query outputs 0
 * (`quotientOrZero`) and passes no gradient. NaN does not count: it comes from a non-finite input
 * and propagates (attention README, "Non-finite inputs").
 */
export const ZERO_DENOMINATOR_WGSL = `
  fn isZeroDenominator(x : f32) -> bool {
    return abs(x) < 1.17549435e-38;
  }
  fn quotientOrZero(numerator : f32, denominator : f32) -> f32 {
    if (isZeroDenominator(denominator)) { return 0.0; }
    return numerator / denominator;
  }
`;

/**
 * A program with one invocation per element of the [B, rows, D] input `over` (shape
 * `overShape`): `declarations` first, then `main`, which returns past the last element and
 * otherwise runs `body` with `shape` (the input's shape) and `at` (batch, row, channel).
 */
export interface PerElementSpec {
  key: string;
  variableNames: string[];
  over: string;
  overShape: number[];
  outputShape: number[];
  declarations: string;
  body: string;
}

export function perElementProgram(program: PerElementSpec): ElementwiseAttentionProgram {
  const [batch, rows, channels] = program.overShape;
  return new ElementwiseAttentionProgram({
    key: program.key,
    variableNames: program.variableNames,
    outputShape: program.outputShape,
    workgroupSize: 64,
    launch: { threads: batch * rows * channels },
    code: `
  ${program.declarations}
  ${COORDS_WGSL}
  ${FLAT_MAIN} {
    let shape = uniforms.${program.over}Shape;
    if (index >= shape.x * shape.y * shape.z) { return; }
    let at = coords(index, shape.y, shape.z);
    ${program.body}
  }
  `,
  });
}

/** Decomposes a flat [B, rows, D] index into (batch, row, channel). */
export const COORDS_WGSL = `
  fn coords(index : i32, rows : i32, channels : i32) -> vec3<i32> {
    return vec3<i32>(index / (rows * channels), (index / channels) % rows, index % channels);
  }
`;

/**
 * Declares `writeSlots(b, row, c, rows, channels, values)`, which writes the `slots` values of
 * (b, row, c) into a packed [B, rows, slots, D] output. A tfjs program writes one output, so
 * passes with several results per position pack them (unpack_program.ts splits them again).
 */
export function packedWrite(slots: 2 | 4): string {
  const writes = Array.from(
    { length: slots },
    (_, slot) => `result[packed + ${slot} * channels] = values[${slot}];`,
  );
  return `
  fn writeSlots(b : i32, row : i32, c : i32, rows : i32, channels : i32, values : vec${slots}<f32>) {
    let packed = ((b * rows + row) * ${slots}) * channels + c;
    ${writes.join('\n    ')}
  }
  `;
}
