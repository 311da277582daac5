/**
 * The per-position steps of the kernels over one row of `row` bytes (every channel of a key or
 * query, four channels per float32x4): each walks the groups of 4 channels and their cells of
 * ./sums side by side and applies a ./moments step to every group. Pointers are to the row's
 * first channel; `terms` = t + 1; `halves`, `coefficients`, `constants` as in ./moments.
 */
import { Moments } from './moments';
import { CELL } from './sums';

// biome-ignore lint/complexity/noStaticOnlyClass: AssemblyScript inlines `@inline` static methods; plain functions cannot carry decorators in TypeScript syntax.
export class Rows {
  /** Adds a visible key to the moments; returns `largest` raised to the key's largest k². */
  @inline static addKeys(
    cells: usize,
    kRow: usize,
    vRow: usize,
    row: usize,
    terms: i32,
    constants: usize,
    largest: v128,
  ): v128 {
    const group = <usize>terms * CELL;
    for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
      const kk = v128.load(kRow + c);
      const squared = f32x4.mul(kk, kk);
      largest = f32x4.pmax(largest, squared);
      Moments.addKey(cell, kk, squared, v128.load(vRow + c), terms, constants);
    }
    return largest;
  }

  /** Stores a query's y; returns `overflow` plus its {@link Moments.finiteness}. */
  @inline static readQueries(
    cells: usize,
    qRow: usize,
    yRow: usize,
    row: usize,
    halves: usize,
    terms: i32,
    overflow: v128,
  ): v128 {
    const group = <usize>terms * CELL;
    for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
      const finiteness = Moments.readQuery(cell, v128.load(qRow + c), halves, terms, yRow + c);
      overflow = f32x4.add(overflow, finiteness);
    }
    return overflow;
  }

  /**
   * Stores a query's ∂q, α and β; returns `flagged` with the lanes that
   * {@link Moments.queryGradient} flags.
   */
  @inline static queryGradients(
    cells: usize,
    qRow: usize,
    dyRow: usize,
    dqRow: usize,
    alphaRow: usize,
    betaRow: usize,
    row: usize,
    coefficients: usize,
    terms: i32,
    flagged: v128,
  ): v128 {
    const group = <usize>terms * CELL;
    for (let c: usize = 0, cell = cells; c < row; c += 16, cell += group) {
      const lanes = Moments.queryGradient(
        cell,
        v128.load(qRow + c),
        v128.load(dyRow + c),
        coefficients,
        terms,
        dqRow + c,
        alphaRow + c,
        betaRow + c,
      );
      flagged = v128.or(flagged, lanes);
    }
    return flagged;
  }

  /** Adds a query with its α, β (from {@link queryGradients}) to the adjoints. */
  @inline static addQueries(
    adjoints: usize,
    qRow: usize,
    alphaRow: usize,
    betaRow: usize,
    row: usize,
    halves: usize,
    terms: i32,
  ): void {
    const group = <usize>terms * CELL;
    for (let c: usize = 0, cell = adjoints; c < row; c += 16, cell += group) {
      const alpha = v128.load(alphaRow + c);
      const beta = v128.load(betaRow + c);
      Moments.addQuery(cell, v128.load(qRow + c), alpha, beta, halves, terms);
    }
  }

  /** Stores a key's ∂k and ∂v from the adjoints: zeros where the key is masked. */
  @inline static keyGradients(
    adjoints: usize,
    kRow: usize,
    vRow: usize,
    dkRow: usize,
    dvRow: usize,
    visible: bool,
    row: usize,
    terms: i32,
    constants: usize,
  ): void {
    if (!visible) {
      memory.fill(dkRow, 0, row);
      memory.fill(dvRow, 0, row);
      return;
    }
    const group = <usize>terms * CELL;
    for (let c: usize = 0, cell = adjoints; c < row; c += 16, cell += group) {
      const kk = v128.load(kRow + c);
      Moments.keyGradient(cell, kk, v128.load(vRow + c), terms, dkRow + c, dvRow + c, constants);
    }
  }
}
