/**
 * The per-position steps of the kernels on one row of a call (every channel of the key or
 * query at byte offset `at` of the record's arrays, four channels per float32x4): each walks
 * the groups of 4 channels and their cells of ./sums side by side and applies a ./moments step
 * to every group. `halves`, `coefficients` and `constants` are as in ./moments.
 */
import { Moments } from './moments';
// biome-ignore lint/style/useImportType: AssemblyScript has no type-only imports.
import { AttentionRecord, BackwardRecord, ForwardRecord } from './records';
import { CELL } from './sums';

// biome-ignore lint/complexity/noStaticOnlyClass: AssemblyScript inlines `@inline` static methods; plain functions cannot carry decorators in TypeScript syntax.
export class Rows {
  /** Bytes of a row: all channels of one position. */
  @inline static bytes(r: AttentionRecord): usize {
    return (<usize>r.channels) << 2;
  }

  /** Bytes of a group's cells: one per term. */
  @inline static group(r: AttentionRecord): usize {
    return <usize>(r.order + 1) * CELL;
  }

  /** Adds visible key `at` to the moments; returns `largest` raised to the key's largest k². */
  @inline static addKeys(
    r: AttentionRecord,
    cells: usize,
    at: usize,
    constants: usize,
    largest: v128,
  ): v128 {
    const k = r.k + at;
    const v = r.v + at;
    const terms = r.order + 1;
    const row = Rows.bytes(r);
    const group = Rows.group(r);
    for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
      const kk = v128.load(k + c);
      const squared = f32x4.mul(kk, kk);
      largest = f32x4.pmax(largest, squared);
      Moments.addKey(cell, kk, squared, v128.load(v + c), terms, constants);
    }
    return largest;
  }

  /** Stores y of query `at`; returns `overflow` plus its {@link Moments.finiteness}. */
  @inline static readQueries(
    r: ForwardRecord,
    cells: usize,
    at: usize,
    halves: usize,
    overflow: v128,
  ): v128 {
    const q = r.q + at;
    const y = r.y + at;
    const terms = r.order + 1;
    const row = Rows.bytes(r);
    const group = Rows.group(r);
    for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
      const finiteness = Moments.readQuery(cell, v128.load(q + c), halves, terms, y + c);
      overflow = f32x4.add(overflow, finiteness);
    }
    return overflow;
  }

  /**
   * Stores ∂q of query `at`, and its α and β at `alphas`, `betas`; returns `flagged` with the
   * lanes that {@link Moments.queryGradient} flags.
   */
  @inline static queryGradients(
    r: BackwardRecord,
    cells: usize,
    at: usize,
    alphas: usize,
    betas: usize,
    coefficients: usize,
    flagged: v128,
  ): v128 {
    const q = r.q + at;
    const dy = r.dy + at;
    const dq = r.dq + at;
    const terms = r.order + 1;
    const row = Rows.bytes(r);
    const group = Rows.group(r);
    for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
      const qq = v128.load(q + c);
      const lanes = Moments.queryGradient(
        cell,
        qq,
        v128.load(dy + c),
        coefficients,
        terms,
        dq + c,
        alphas + c,
        betas + c,
      );
      flagged = v128.or(flagged, lanes);
    }
    return flagged;
  }

  /** Adds query `at` with its α, β (from {@link queryGradients}) to the adjoints. */
  @inline static addQueries(
    r: BackwardRecord,
    adjoints: usize,
    at: usize,
    alphas: usize,
    betas: usize,
    halves: usize,
  ): void {
    const q = r.q + at;
    const terms = r.order + 1;
    const row = Rows.bytes(r);
    const group = Rows.group(r);
    for (let c: usize = 0, cell = adjoints; c < row; c += 16, cell += group) {
      const alpha = v128.load(alphas + c);
      Moments.addQuery(cell, v128.load(q + c), alpha, v128.load(betas + c), halves, terms);
    }
  }

  /** Stores ∂k and ∂v of key `at` from the adjoints: zeros where the key is masked. */
  @inline static keyGradients(
    r: BackwardRecord,
    adjoints: usize,
    at: usize,
    visible: bool,
    constants: usize,
  ): void {
    const dk = r.dk + at;
    const dv = r.dv + at;
    const row = Rows.bytes(r);
    if (!visible) {
      memory.fill(dk, 0, row);
      memory.fill(dv, 0, row);
      return;
    }
    const k = r.k + at;
    const v = r.v + at;
    const terms = r.order + 1;
    const group = Rows.group(r);
    for (let c: usize = 0, cell = adjoints; c < row; c += 16, cell += group) {
      Moments.keyGradient(
        cell,
        v128.load(k + c),
        v128.load(v + c),
        terms,
        dk + c,
        dv + c,
        constants,
      );
    }
  }
}
