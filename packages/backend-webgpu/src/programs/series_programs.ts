import type { ScanGeometry } from './geometry.js';
import { ElementwiseAttentionProgram, FLAT_MAIN } from './program.js';
import { seriesPrelude } from './series_wgsl.js';

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

/** Decomposes a flat [B, rows, D] index. */
const COORDS = `
  fn coords(index : i32, rows : i32, channels : i32) -> vec3<i32> {
    return vec3<i32>(index / (rows * channels), (index / channels) % rows, index % channels);
  }
`;

/**
 * One invocation per element of the [B, rows, D] input `over`, with its coordinates in `at`
 * (batch, row, channel) and `loadState` reading the whole state of that batch and channel.
 */
function perElementProgram(
  geometry: ScanGeometry,
  program: {
    key: string;
    variableNames: string[];
    over: string;
    overShape: number[];
    outputShape: number[];
    body: string;
  },
): ElementwiseAttentionProgram {
  const [batch, rows, channels] = program.overShape;
  return new ElementwiseAttentionProgram({
    key: `${program.key}_${geometry.terms}`,
    variableNames: program.variableNames,
    outputShape: program.outputShape,
    workgroupSize: 64,
    launch: { threads: batch * rows * channels },
    code: `
  ${seriesPrelude(geometry)}
  ${LOAD_STATE}
  ${COORDS}
  ${FLAT_MAIN} {
    let shape = uniforms.${program.over}Shape;
    if (index >= shape.x * shape.y * shape.z) { return; }
    let at = coords(index, shape.y, shape.z);
    ${program.body}
  }
  `,
  });
}

/** Non-causal y [B, Lq, D] from the full moments S, Z. */
export function readQueriesProgram(
  geometry: ScanGeometry,
  queryShape: number[],
): ElementwiseAttentionProgram {
  return perElementProgram(geometry, {
    key: 'read_queries',
    variableNames: ['qIn', 'sIn', 'zIn'],
    over: 'qIn',
    overShape: queryShape,
    outputShape: queryShape,
    body: `
    var state : array<f32, TT>;
    loadState(&state, at.x, at.z);
    result[index] = readQuery(&state, f32(qIn[index]));`,
  });
}

/** Non-causal (∂q, α, β, scaled) packed [B, Lq, 4, D] from the full moments S, Z. */
export function queryGradientsProgram(
  geometry: ScanGeometry,
  queryShape: number[],
): ElementwiseAttentionProgram {
  const [batch, queries, channels] = queryShape;
  return perElementProgram(geometry, {
    key: 'query_gradients',
    variableNames: ['qIn', 'dyIn', 'sIn', 'zIn'],
    over: 'qIn',
    overShape: queryShape,
    outputShape: [batch, queries, 4, channels],
    body: `
    var state : array<f32, TT>;
    loadState(&state, at.x, at.z);
    let gradient = queryGradient(&state, f32(qIn[index]), f32(dyIn[index]));
    let packed = ((at.x * shape.y + at.y) * 4) * shape.z + at.z;
    result[packed] = gradient.x;
    result[packed + shape.z] = gradient.y;
    result[packed + 2 * shape.z] = gradient.z;
    result[packed + 3 * shape.z] = gradient.w;`,
  });
}

/** Non-causal (∂k, ∂v) packed [B, L, 2, D] from the full adjoints A (`sIn`), B (`zIn`). */
export function keyGradientsProgram(
  geometry: ScanGeometry,
  keyShape: number[],
): ElementwiseAttentionProgram {
  const [batch, keys, channels] = keyShape;
  return perElementProgram(geometry, {
    key: 'key_gradients',
    variableNames: ['kIn', 'vIn', 'maskIn', 'sIn', 'zIn'],
    over: 'kIn',
    overShape: keyShape,
    outputShape: [batch, keys, 2, channels],
    body: `
    var gradient = vec2<f32>(0.0);
    if (f32(maskIn[at.x * shape.y + at.y]) != 0.0) {
      var state : array<f32, TT>;
      loadState(&state, at.x, at.z);
      gradient = keyGradient(&state, f32(kIn[index]), f32(vIn[index]));
    }
    let packed = ((at.x * shape.y + at.y) * 2) * shape.z + at.z;
    result[packed] = gradient.x;
    result[packed + shape.z] = gradient.y;`,
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
  ${COORDS}
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
  ${COORDS}
  ${FLAT_MAIN} {
    let shape = uniforms.${state}Shape;
    if (index >= shape.x * shape.y * shape.z) { return; }
    let at = coords(index, T, shape.z);
    let k = f32(kIn[at.x * shape.z + at.z]);
    var f = exp(-k * k);
    for (var n = 0; n < at.y; n++) { f *= k; }
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
    let k = f32(kIn[index]);
    let v = f32(vIn[index]);
    var f = exp(-k * k);
    for (var n = 0; n < T; n++) {
      state[n] += f * v;
      state[T + n] += f;
      f *= k;
    }
    result[index] = readQuery(&state, f32(qIn[index]));
  }
  `,
  });
}
