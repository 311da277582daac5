import { type Emit, emitDeclaration, emitInputs, emitOutputShape, emitOver } from './emit.js';
import type { ScanGeometry } from './geometry.js';
import { ElementwiseAttentionProgram, FLAT_MAIN } from './program.js';
import { seriesPrelude } from './series_wgsl.js';
import { COORDS_WGSL, perElementProgram } from './wgsl.js';

/**
 * Series programs that need no scan: one invocation per output element, reading whole states
 * [B, T, D] (non-causal queries and keys, state slices, the recurrent step).
 */

/** Loads S or A from `sIn` and Z or B from `zIn` ([B, T, D]) for (b, c). */
const LOAD_STATE = `
  fn loadState(state : ptr<function, array<f32, TT>>, b : i32, c : i32) {
    let channels = uniforms.sInShape.z;
    for (var n = 0; n < T; n++) {
      (*state)[n] = f32(sIn[(b * T + n) * channels + c]);
      (*state)[T + n] = f32(zIn[(b * T + n) * channels + c]);
    }
  }
`;

/**
 * Non-causal: `emit` at every position of `shape` [B, rows, D] from one state for the whole
 * sequence, S/A in `sIn` and Z/B in `zIn` (the final moments for the queries, the total adjoints
 * for the keys). Binds the emit's inputs, then `sIn`, `zIn`.
 */
export function wholeSequenceProgram(
  geometry: ScanGeometry,
  emit: Emit,
  shape: number[],
): ElementwiseAttentionProgram {
  const over = emitOver(emit);
  return perElementProgram({
    key: `whole_sequence_${emit}_${geometry.terms}`,
    variableNames: [...emitInputs(emit), 'sIn', 'zIn'],
    over,
    overShape: shape,
    outputShape: emitOutputShape(emit, shape),
    declarations: `${seriesPrelude(geometry)}${LOAD_STATE}${emitDeclaration(emit)}`,
    body: `
    var state : array<f32, TT>;
    loadState(&state, at.x, at.z);
    emit(&state, at.x, at.y, at.z);`,
  });
}

/**
 * One half of a row of scan carries [B, rows, 2T, D] as a state [B, T, D]: the first or last
 * row, S/A (`half` 0) or Z/B (`half` 1).
 */
export function carrySliceProgram(
  geometry: ScanGeometry,
  carriesShape: number[],
  row: 'first' | 'last',
  half: 0 | 1,
): ElementwiseAttentionProgram {
  const [batch, , , channels] = carriesShape;
  const outputShape = [batch, geometry.terms, channels];
  return new ElementwiseAttentionProgram({
    key: `carry_slice_${row}_${half}_${geometry.terms}`,
    variableNames: ['carries'],
    outputShape,
    workgroupSize: 64,
    launch: { threads: batch * geometry.terms * channels },
    code: `
  ${seriesPrelude(geometry)}
  ${COORDS_WGSL}
  ${FLAT_MAIN} {
    let shape = uniforms.carriesShape;
    if (index >= shape.x * T * shape.w) { return; }
    let at = coords(index, T, shape.w);
    let row = ${row === 'first' ? '0' : 'shape.y - 1'};
    result[index] = carries[((at.x * shape.y + row) * TT + ${half} * T + at.y) * shape.w + at.z];
  }
  `,
  });
}

/**
 * Recurrent step, state half: s' = s + f(k) v (`half` 0, inputs k, v, s) or z' = z + f(k)
 * (`half` 1, inputs k, z). Each program binds only what it reads: WebGPU drops unused bindings
 * from the pipeline layout.
 */
export function stepStateProgram(
  geometry: ScanGeometry,
  stateShape: number[],
  half: 0 | 1,
): ElementwiseAttentionProgram {
  const [batch, terms, channels] = stateShape;
  const state = half === 0 ? 'sIn' : 'zIn';
  return new ElementwiseAttentionProgram({
    key: `step_state_${half}_${geometry.terms}`,
    variableNames: half === 0 ? ['kIn', 'vIn', 'sIn'] : ['kIn', 'zIn'],
    outputShape: stateShape,
    workgroupSize: 64,
    launch: { threads: batch * terms * channels },
    code: `
  ${seriesPrelude(geometry)}
  ${COORDS_WGSL}
  ${FLAT_MAIN} {
    let shape = uniforms.${state}Shape;
    if (index >= shape.x * shape.y * shape.z) { return; }
    let at = coords(index, T, shape.z);
    let f = keyFeature(f32(kIn[at.x * shape.z + at.z]), at.y);
    ${half === 0 ? 'result[index] = f32(sIn[index]) + f * f32(vIn[at.x * shape.z + at.z]);' : 'result[index] = f32(zIn[index]) + f;'}
  }
  `,
  });
}

/** Recurrent step, output: y [B, D] read from the updated state. */
export function stepOutputProgram(
  geometry: ScanGeometry,
  rowShape: number[],
): ElementwiseAttentionProgram {
  const [batch, channels] = rowShape;
  return new ElementwiseAttentionProgram({
    key: `step_output_${geometry.terms}`,
    variableNames: ['qIn', 'kIn', 'vIn', 'sIn', 'zIn'],
    outputShape: rowShape,
    workgroupSize: 64,
    launch: { threads: batch * channels },
    code: `
  ${seriesPrelude(geometry)}
  ${LOAD_STATE}
  ${FLAT_MAIN} {
    let shape = uniforms.qInShape;
    if (index >= shape.x * shape.y) { return; }
    let b = index / shape.y;
    let c = index % shape.y;
    var state : array<f32, TT>;
    loadState(&state, b, c);
    addKeyFeatures(&state, f32(kIn[index]), f32(vIn[index]));
    result[index] = readQuery(&state, f32(qIn[index]));
  }
  `,
  });
}
