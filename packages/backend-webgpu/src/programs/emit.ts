import { packedWrite } from './wgsl.js';

/**
 * What a series program writes at a position once the running state there is known, the same
 * whether the state comes from a causal block scan (block_programs.ts) or is the whole
 * sequence's (series_programs.ts, non-causal).
 */
export type Emit = 'attend' | 'queryGradients' | 'keyGradients';

interface EmitSpec {
  /** The [B, rows, D] input whose positions are emitted. */
  over: 'qIn' | 'kIn';
  /** The inputs `value` reads besides the state. */
  inputs: string[];
  /** Results per position; more than 1 are packed [B, rows, slots, D]. */
  slots: 1 | 2 | 4;
  /** WGSL declaring `value` from `state` and the element's flat index `at`. */
  value: string;
}

const EMITS: Record<Emit, EmitSpec> = {
  // y_i from S(i), Z(i).
  attend: {
    over: 'qIn',
    inputs: ['qIn'],
    slots: 1,
    value: 'let value = readQuery(state, f32(qIn[at]));',
  },
  // (∂q_i, α_i, β_i, scaled_i) from S(i), Z(i).
  queryGradients: {
    over: 'qIn',
    inputs: ['qIn', 'dyIn'],
    slots: 4,
    value: 'let value = queryGradient(state, f32(qIn[at]), f32(dyIn[at]));',
  },
  // (∂k_j, ∂v_j) from the adjoints A(j), B(j); a masked key gets none.
  keyGradients: {
    over: 'kIn',
    inputs: ['kIn', 'vIn', 'maskIn'],
    slots: 2,
    value: `var value = vec2<f32>(0.0);
      if (f32(maskIn[b * shape.y + i]) != 0.0) {
        value = keyGradient(state, f32(kIn[at]), f32(vIn[at]));
      }`,
  },
};

/** The inputs `emit` reads besides the state, in binding order. */
export function emitInputs(emit: Emit): string[] {
  return EMITS[emit].inputs;
}

/** The input whose positions `emit` writes. */
export function emitOver(emit: Emit): string {
  return EMITS[emit].over;
}

/** The output shape of `emit` over `shape` [B, rows, D]. */
export function emitOutputShape(emit: Emit, [batch, rows, channels]: number[]): number[] {
  const { slots } = EMITS[emit];
  return slots === 1 ? [batch, rows, channels] : [batch, rows, slots, channels];
}

/** Declares `emit(&state, b, i, c)`, which writes the results of position i of (b, c). */
export function emitDeclaration(emit: Emit): string {
  const { over, slots, value } = EMITS[emit];
  return `
  ${slots === 1 ? '' : packedWrite(slots)}
  fn emit(state : ptr<function, array<f32, TT>>, b : i32, i : i32, c : i32) {
    let shape = uniforms.${over}Shape;
    let at = (b * shape.y + i) * shape.z + c;
    ${value}
    ${slots === 1 ? 'result[at] = value;' : 'writeSlots(b, i, c, shape.y, shape.z, value);'}
  }
  `;
}
