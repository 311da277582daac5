import { type Emit, emitDeclaration, emitInputs, emitOutputShape } from './emit.js';
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

/**
 * One workgroup per (block, channel, batch) of a sequence of `length` positions. `main` first
 * sums each invocation's P positions of the `source` terms into `partial` and scans those across
 * the workgroup (in `reverse` for suffix sums), then runs `body` with `t`, `block`, `b`, `c`,
 * `first` (the invocation's first position) and `sequenceEnd` in scope.
 */
function blockProgram(
  geometry: ScanGeometry,
  source: TermSource,
  reverse: boolean,
  program: {
    key: string;
    variableNames: string[];
    outputShape: number[];
    dims: { batch: number; length: number; channels: number };
    declarations: string;
    body: string;
  },
): ElementwiseAttentionProgram {
  const { batch, length, channels } = program.dims;
  const terms = SOURCE_TERMS[source];
  return new ElementwiseAttentionProgram({
    key: `${program.key}_${geometry.terms}_${geometry.invocations}`,
    variableNames: program.variableNames,
    outputShape: program.outputShape,
    workgroupSize: geometry.invocations,
    launch: { grid: blockGrid(blockCount(geometry, length), channels, batch) },
    code: `
  ${seriesPrelude(geometry)}
  ${terms.code}
  ${workgroupScan(geometry, reverse)}
  ${program.declarations}
  ${GRID_MAIN} {
    let t = i32(localId.x);
    let block = i32(workgroupId.x);
    let c = i32(workgroupId.y);
    let b = i32(workgroupId.z);
    let sequenceEnd = sequenceLength();
    let first = block * W * P + t * P;
    var partial : array<f32, TT>;
    for (var p = 0; p < P; p++) {
      let i = first + p;
      if (i < sequenceEnd) { ${terms.add}(&partial, b, i, c); }
    }
    scanWorkgroup(&partial, t);
    ${program.body}
  }
  `,
  });
}

export function blockTotalsProgram(
  geometry: ScanGeometry,
  source: TermSource,
  batch: number,
  length: number,
  channels: number,
): ElementwiseAttentionProgram {
  return blockProgram(geometry, source, false, {
    key: `block_totals_${source}`,
    variableNames: SOURCE_INPUTS[source],
    outputShape: [batch, blockCount(geometry, length), 2 * geometry.terms, channels],
    dims: { batch, length, channels },
    declarations: '',
    body: `
    let blocks = uniforms.outShape.y;
    let channels = uniforms.outShape.w;
    for (var m = t; m < TT; m += W) {
      result[((b * blocks + block) * TT + m) * channels + c] = blockTotal(m);
    }`,
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

/**
 * The terms each emit needs scanned: the key moments S, Z (forward, prefix sums) or the query
 * adjoints A, B (in reverse, suffix sums).
 */
const SCANNED: Record<Emit, TermSource> = {
  attend: 'keys',
  queryGradients: 'keys',
  keyGradients: 'queries',
};

/**
 * Stage 3 for `emit`: binds the scanned terms' inputs, then those of the emit not bound yet, then
 * `carries`.
 */
export function blockScanProgram(
  geometry: ScanGeometry,
  emit: Emit,
  batch: number,
  length: number,
  channels: number,
): ElementwiseAttentionProgram {
  const source = SCANNED[emit];
  const reverse = source === 'queries';
  const sourceInputs = SOURCE_INPUTS[source];
  const emitted = emitInputs(emit).filter((name) => !sourceInputs.includes(name));
  const walk = reverse ? `for (var p = P - 1; p >= 0; p--) {` : `for (var p = 0; p < P; p++) {`;
  return blockProgram(geometry, source, reverse, {
    key: `block_scan_${emit}`,
    variableNames: [...sourceInputs, ...emitted, 'carries'],
    outputShape: emitOutputShape(emit, [batch, length, channels]),
    dims: { batch, length, channels },
    declarations: emitDeclaration(emit),
    body: `
    let rows = uniforms.carriesShape.y;
    let carryRow = block + ${reverse ? '1' : '0'};
    var state : array<f32, TT>;
    for (var m = 0; m < TT; m++) {
      let carry = carries[((b * rows + carryRow) * TT + m) * uniforms.carriesShape.w + c];
      state[m] = carry + partial[m];
    }
    ${walk}
      let i = first + p;
      if (i < sequenceEnd) {
        ${SOURCE_TERMS[source].add}(&state, b, i, c);
        emit(&state, b, i, c);
      }
    }`,
  });
}
