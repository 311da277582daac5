import { ElementwiseAttentionProgram, FLAT_MAIN } from './program.js';

/**
 * Slot `slot` of a packed [B, L, slots, D] tensor as [B, L, D]. A tfjs program writes one
 * output, so passes that produce several per-position results pack them and are unpacked here.
 */
export function unpackProgram(packedShape: number[], slot: number): ElementwiseAttentionProgram {
  const [batch, length, , channels] = packedShape;
  return new ElementwiseAttentionProgram({
    key: `unpack_${slot}`,
    variableNames: ['packed'],
    outputShape: [batch, length, channels],
    workgroupSize: 64,
    launch: { threads: batch * length * channels },
    code: `
  ${FLAT_MAIN} {
    let shape = uniforms.packedShape;
    if (index >= shape.x * shape.y * shape.w) { return; }
    let row = index / shape.w;
    let c = index % shape.w;
    result[index] = packed[(row * shape.z + ${slot}) * shape.w + c];
  }
  `,
  });
}
