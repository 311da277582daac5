import { blockCount, blockGrid, type ScanGeometry } from './geometry.js';
import { ElementwiseAttentionProgram, FLAT_MAIN, GRID_MAIN } from './program.js';
import { KEY_TERMS_WGSL, QUERY_TERMS_WGSL, seriesPrelude, workgroupScan } from './series_wgsl.js';

/**
 * The three stages of the blocked scan over a sequence (see geometry.ts):
 *
 * 1. `blockTotals`: each workgroup sums the terms of one block → totals [B, blocks, 2T, D].
 * 2. `carries`: per (b, moment, channel), a scan of the block totals starting from an initial
 *    state → carries [B, blocks + 1, 2T, D]. Forward, row r is the initial state plus blocks
 *    0..r-1 (the last row is the final state); reverse, row r is the initial state plus blocks
 *    r..end (row 0 holds everything, the last row the initial state alone).
 * 3. `blockScan`: each workgroup scans its block again (sequential per invocation, then across
 *    the workgroup), adds its carry and emits one result per position.
 *
 * Terms come from keys (`'keys'`: S and Z moments of the forward pass) or from queries
 * (`'queries'`: the adjoints A and B of the backward pass, run in reverse for suffix sums).
 */

export type TermSource = 'keys' | 'queries';

const SOURCE_INPUTS: Record<TermSource, string[]> = {
  keys: ['kIn', 'vIn', 'maskIn'],
  queries: ['qIn', 'queryInfo'],
};

const SOURCE_TERMS: Record<TermSource, { code: string; add: string }> = {
  keys: { code: KEY_TERMS_WGSL, add: 'addKeyTerms' },
  queries: { code: QUERY_TERMS_WGSL, add: 'addQueryTerms' },
};

/** Accumulates the invocation's P positions of the block into `partial`. */
const partialSums = (add: string) => `
    let t = i32(localId.x);
    let block = i32(workgroupId.x);
    let c = i32(workgroupId.y);
    let b = i32(workgroupId.z);
    let sequenceEnd = sequenceLength();
    let first = block * W * P + t * P;
    var partial : array<f32, TT>;
    for (var p = 0; p < P; p++) {
      let i = first + p;
      if (i < sequenceEnd) { ${add}(&partial, b, i, c); }
    }
    scanWorkgroup(&partial, t);
`;

export function blockTotalsProgram(
  geometry: ScanGeometry,
  source: TermSource,
  batch: number,
  length: number,
  channels: number,
): ElementwiseAttentionProgram {
  const blocks = blockCount(geometry, length);
  const terms = SOURCE_TERMS[source];
  return new ElementwiseAttentionProgram({
    key: `block_totals_${source}_${geometry.terms}_${geometry.invocations}`,
    variableNames: SOURCE_INPUTS[source],
    outputShape: [batch, blocks, 2 * geometry.terms, channels],
    workgroupSize: geometry.invocations,
    launch: { grid: blockGrid(blocks, channels, batch) },
    code: `
  ${seriesPrelude(geometry)}
  ${terms.code}
  ${workgroupScan(geometry, false)}
  ${GRID_MAIN} {
    ${partialSums(terms.add)}
    let blocks = uniforms.outShape.y;
    let channels = uniforms.outShape.w;
    for (var m = t; m < TT; m += W) {
      result[((b * blocks + block) * TT + m) * channels + c] = blockTotal(m);
    }
  }
  `,
  });
}

/**
 * Scans block totals [B, blocks, 2T, D] from an initial state (S or A in `initialS`, Z or B in
 * `initialZ`, each [B, T, D]), one invocation per (b, moment, channel), sequentially over the
 * blocks (each total already sums up to W·P positions).
 */
export function carriesProgram(
  geometry: ScanGeometry,
  reverse: boolean,
  batch: number,
  blocks: number,
  channels: number,
): ElementwiseAttentionProgram {
  const scan = reverse
    ? `
    result[row(b, blocks, m, c)] = running;
    for (var r = blocks - 1; r >= 0; r--) {
      running += totals[((b * blocks + r) * TT + m) * channels + c];
      result[row(b, r, m, c)] = running;
    }`
    : `
    result[row(b, 0, m, c)] = running;
    for (var r = 0; r < blocks; r++) {
      running += totals[((b * blocks + r) * TT + m) * channels + c];
      result[row(b, r + 1, m, c)] = running;
    }`;
  return new ElementwiseAttentionProgram({
    key: `carries_${reverse ? 'reverse' : 'forward'}_${geometry.terms}`,
    variableNames: ['totals', 'initialS', 'initialZ'],
    outputShape: [batch, blocks + 1, 2 * geometry.terms, channels],
    workgroupSize: 64,
    launch: { threads: batch * 2 * geometry.terms * channels },
    code: `
  ${seriesPrelude(geometry)}
  fn row(b : i32, r : i32, m : i32, c : i32) -> i32 {
    return ((b * uniforms.outShape.y + r) * TT + m) * uniforms.outShape.w + c;
  }
  ${FLAT_MAIN} {
    let batch = uniforms.totalsShape.x;
    let blocks = uniforms.totalsShape.y;
    let channels = uniforms.totalsShape.w;
    if (index >= batch * TT * channels) { return; }
    let c = index % channels;
    let m = (index / channels) % TT;
    let b = index / (channels * TT);
    var running = 0.0;
    if (m < T) {
      running = f32(initialS[(b * T + m) * channels + c]);
    } else {
      running = f32(initialZ[(b * T + m - T) * channels + c]);
    }
    ${scan}
  }
  `,
  });
}

/** What `blockScanProgram` emits at every position once the state there is known. */
export type BlockScanEmit = 'attend' | 'queryGradients' | 'keyGradients';

const EMIT: Record<
  BlockScanEmit,
  { source: TermSource; reverse: boolean; inputs: string[]; slots: number; code: string }
> = {
  // y_i from S(i), Z(i).
  attend: {
    source: 'keys',
    reverse: false,
    inputs: ['qIn', 'kIn', 'vIn', 'maskIn', 'carries'],
    slots: 1,
    code: `
    fn emit(state : ptr<function, array<f32, TT>>, b : i32, i : i32, c : i32) {
      let at = (b * uniforms.qInShape.y + i) * uniforms.qInShape.z + c;
      result[at] = readQuery(state, f32(qIn[at]));
    }`,
  },
  // (∂q_i, α_i, β_i, scaled_i) from S(i), Z(i), packed [B, L, 4, D].
  queryGradients: {
    source: 'keys',
    reverse: false,
    inputs: ['qIn', 'kIn', 'vIn', 'maskIn', 'dyIn', 'carries'],
    slots: 4,
    code: `
    fn emit(state : ptr<function, array<f32, TT>>, b : i32, i : i32, c : i32) {
      let channels = uniforms.qInShape.z;
      let at = (b * uniforms.qInShape.y + i) * channels + c;
      let gradient = queryGradient(state, f32(qIn[at]), f32(dyIn[at]));
      let packed = ((b * uniforms.qInShape.y + i) * 4) * channels + c;
      result[packed] = gradient.x;
      result[packed + channels] = gradient.y;
      result[packed + 2 * channels] = gradient.z;
      result[packed + 3 * channels] = gradient.w;
    }`,
  },
  // (∂k_j, ∂v_j) from the suffix sums A(j), B(j), packed [B, L, 2, D].
  keyGradients: {
    source: 'queries',
    reverse: true,
    inputs: ['qIn', 'queryInfo', 'kIn', 'vIn', 'maskIn', 'carries'],
    slots: 2,
    code: `
    fn emit(state : ptr<function, array<f32, TT>>, b : i32, j : i32, c : i32) {
      let keys = uniforms.kInShape.y;
      let channels = uniforms.kInShape.z;
      let at = (b * keys + j) * channels + c;
      var gradient = vec2<f32>(0.0);
      if (f32(maskIn[b * keys + j]) != 0.0) { gradient = keyGradient(state, f32(kIn[at]), f32(vIn[at])); }
      let packed = ((b * keys + j) * 2) * channels + c;
      result[packed] = gradient.x;
      result[packed + channels] = gradient.y;
    }`,
  },
};

export function blockScanProgram(
  geometry: ScanGeometry,
  emit: BlockScanEmit,
  batch: number,
  length: number,
  channels: number,
): ElementwiseAttentionProgram {
  const spec = EMIT[emit];
  const terms = SOURCE_TERMS[spec.source];
  const blocks = blockCount(geometry, length);
  const walk = spec.reverse
    ? `for (var p = P - 1; p >= 0; p--) {`
    : `for (var p = 0; p < P; p++) {`;
  return new ElementwiseAttentionProgram({
    key: `block_scan_${emit}_${geometry.terms}_${geometry.invocations}`,
    variableNames: spec.inputs,
    outputShape:
      spec.slots === 1 ? [batch, length, channels] : [batch, length, spec.slots, channels],
    workgroupSize: geometry.invocations,
    launch: { grid: blockGrid(blocks, channels, batch) },
    code: `
  ${seriesPrelude(geometry)}
  ${terms.code}
  ${workgroupScan(geometry, spec.reverse)}
  ${spec.code}
  ${GRID_MAIN} {
    ${partialSums(terms.add)}
    let rows = uniforms.carriesShape.y;
    let carryRow = block + ${spec.reverse ? '1' : '0'};
    var state : array<f32, TT>;
    for (var m = 0; m < TT; m++) {
      let carry = carries[((b * rows + carryRow) * TT + m) * uniforms.carriesShape.w + c];
      state[m] = carry + partial[m];
    }
    ${walk}
      let i = first + p;
      if (i < sequenceEnd) {
        ${terms.add}(&state, b, i, c);
        emit(&state, b, i, c);
      }
    }
  }
  `,
  });
}
