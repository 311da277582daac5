/**
 * The per-lane pieces of the EA series on four adjacent channels at once (float32x4):
 *
 *     f_n(k) = k^n e^{-k²}    a_n = 2^n / n!    n = 0..t   (terms = t + 1)
 *     S_n += f_n(k) v   Z_n += f_n(k)   y = Σ a_n q^n S_n / Σ a_n q^n Z_n
 *
 * `cell` points at the first cell (term 0) of a group of 4 channels in a ./sums array; a
 * moment's value is narrow + partial and additions go to partial. For the adjoints of the
 * backward pass the same cells hold A_n (in the S slots) and B_n (in the Z slots). `halves`
 * holds 2/n as float32 (n = 1..terms), `coefficients` a_n, `constants` those of ./exp.
 */
import { Exp } from './exp';
import { CELL, NARROW_S, NARROW_Z, PARTIAL_S, PARTIAL_Z } from './sums';

/** 2^-90: a nonzero denominator below this makes α = g/M too large for float32 sums. */
const TINY_DENOMINATOR: f32 = 8.077935669463161e-28;

// biome-ignore lint/complexity/noStaticOnlyClass: AssemblyScript inlines `@inline` static methods; plain functions cannot carry decorators in TypeScript syntax.
export class Moments {
  @inline static half(halves: usize, n: i32): v128 {
    return v128.load32_splat(halves + ((<usize>n) << 2));
  }

  /**
   * The lanes where the contract's zero-denominator rule applies: a query whose denominator is
   * exactly 0 (it sees no visible key, or every e^{-k²} it sees underflowed) outputs 0 and passes
   * no gradient. A NaN denominator is not zero: a non-finite input propagates.
   */
  @inline static zeroDenominator(denominator: v128): v128 {
    return f32x4.eq(denominator, f32x4.splat(0));
  }

  /** numerator / denominator, and 0 under the {@link Moments.zeroDenominator} rule. */
  @inline static ratio(numerator: v128, denominator: v128): v128 {
    return v128.andnot(f32x4.div(numerator, denominator), Moments.zeroDenominator(denominator));
  }

  /** S_n of the cell at `cell` (A_n in adjoints): narrow + partial. */
  @inline static s(cell: usize): v128 {
    return f32x4.add(v128.load(cell, NARROW_S), v128.load(cell, PARTIAL_S));
  }

  /** Z_n of the cell at `cell` (B_n in adjoints): narrow + partial. */
  @inline static z(cell: usize): v128 {
    return f32x4.add(v128.load(cell, NARROW_Z), v128.load(cell, PARTIAL_Z));
  }

  /**
   * N + M: callers add these up over the queries and test once that the sum is finite. It is
   * not where N or M overflowed (a large |q| or |v|) or came from a non-finite input, and the
   * float64 path then recomputes the call, reading large queries with every term divided by q^t
   * and letting non-finite inputs propagate. (A sum that overflows from large finite values only
   * sends a correct call to float64 too.) One add per query costs less than testing N and M.
   */
  @inline static finiteness(numerator: v128, denominator: v128): v128 {
    return f32x4.add(numerator, denominator);
  }

  /** Adds a key (`squared` = k²): S_n += f_n(k) v, Z_n += f_n(k). */
  @inline static addKey(
    cell: usize,
    kk: v128,
    squared: v128,
    vv: v128,
    terms: i32,
    constants: usize,
  ): void {
    let f = Exp.ofNegative(squared, constants);
    let fv = f32x4.mul(f, vv);
    let n = 0;
    if (terms & 1) {
      v128.store(cell, f32x4.add(v128.load(cell, PARTIAL_S), fv), PARTIAL_S);
      v128.store(cell, f32x4.add(v128.load(cell, PARTIAL_Z), f), PARTIAL_Z);
      f = f32x4.mul(f, kk);
      fv = f32x4.mul(fv, kk);
      cell += CELL;
      n = 1;
    }
    // Two terms per iteration: half the loop overhead (orders are even, so terms is odd).
    for (; n < terms; n += 2) {
      const f1 = f32x4.mul(f, kk);
      const fv1 = f32x4.mul(fv, kk);
      v128.store(cell, f32x4.add(v128.load(cell, PARTIAL_S), fv), PARTIAL_S);
      v128.store(cell, f32x4.add(v128.load(cell, PARTIAL_Z), f), PARTIAL_Z);
      v128.store(cell, f32x4.add(v128.load(cell, CELL + PARTIAL_S), fv1), CELL + PARTIAL_S);
      v128.store(cell, f32x4.add(v128.load(cell, CELL + PARTIAL_Z), f1), CELL + PARTIAL_Z);
      f = f32x4.mul(f1, kk);
      fv = f32x4.mul(fv1, kk);
      cell += 2 * CELL;
    }
  }

  /**
   * Stores y = N / M for queries `qq` at `yAt`, 0 where M is 0, and returns its
   * {@link Moments.finiteness}. Horner with the coefficients folded in:
   * N = S_0 + w_1 (S_1 + w_2 (S_2 + … + w_t S_t)) with w_n = q · 2/n.
   */
  @inline static readQuery(cell: usize, qq: v128, halves: usize, terms: i32, yAt: usize): v128 {
    cell += <usize>(terms - 1) * CELL;
    let numerator = Moments.s(cell);
    let denominator = Moments.z(cell);
    let n = terms - 1;
    if (n & 1) {
      cell -= CELL;
      const w = f32x4.mul(qq, Moments.half(halves, n));
      numerator = f32x4.add(f32x4.mul(numerator, w), Moments.s(cell));
      denominator = f32x4.add(f32x4.mul(denominator, w), Moments.z(cell));
      n--;
    }
    // Two terms per iteration (n, n - 1): half the loop overhead.
    for (; n > 0; n -= 2) {
      const w = f32x4.mul(qq, Moments.half(halves, n));
      const w1 = f32x4.mul(qq, Moments.half(halves, n - 1));
      cell -= CELL;
      numerator = f32x4.add(f32x4.mul(numerator, w), Moments.s(cell));
      denominator = f32x4.add(f32x4.mul(denominator, w), Moments.z(cell));
      cell -= CELL;
      numerator = f32x4.add(f32x4.mul(numerator, w1), Moments.s(cell));
      denominator = f32x4.add(f32x4.mul(denominator, w1), Moments.z(cell));
    }
    v128.store(yAt, Moments.ratio(numerator, denominator));
    return Moments.finiteness(numerator, denominator);
  }

  /**
   * The per-query backward for queries `qq` with upstream `g`: stores ∂q = α N' + β M' at `dqAt`
   * and α = g/M, β = -α y (0 where M is 0) at `alphaAt`, `betaAt`. Returns the lanes whose
   * nonzero M is so small that float32 adjoints could overflow, or where N or M is not finite
   * (then the call is recomputed in float64).
   */
  @inline static queryGradient(
    cell: usize,
    qq: v128,
    g: v128,
    coefficients: usize,
    terms: i32,
    dqAt: usize,
    alphaAt: usize,
    betaAt: usize,
  ): v128 {
    let numerator = f32x4.splat(0);
    let denominator = f32x4.splat(0);
    let numeratorSlope = f32x4.splat(0);
    let denominatorSlope = f32x4.splat(0);
    cell += <usize>(terms - 1) * CELL;
    for (let n = terms - 1; n >= 0; n--) {
      const an = v128.load32_splat(coefficients + ((<usize>n) << 2));
      const s = Moments.s(cell);
      const z = Moments.z(cell);
      numeratorSlope = f32x4.add(f32x4.mul(numeratorSlope, qq), numerator);
      denominatorSlope = f32x4.add(f32x4.mul(denominatorSlope, qq), denominator);
      numerator = f32x4.add(f32x4.mul(numerator, qq), f32x4.mul(an, s));
      denominator = f32x4.add(f32x4.mul(denominator, qq), f32x4.mul(an, z));
      cell -= CELL;
    }
    const alpha = Moments.ratio(g, denominator);
    const y = Moments.ratio(numerator, denominator);
    const beta = f32x4.neg(f32x4.mul(alpha, y));
    v128.store(
      dqAt,
      f32x4.add(f32x4.mul(alpha, numeratorSlope), f32x4.mul(beta, denominatorSlope)),
    );
    v128.store(alphaAt, alpha);
    v128.store(betaAt, beta);
    const finiteness = Moments.finiteness(numerator, denominator);
    const difference = f32x4.sub(finiteness, finiteness);
    const tiny = f32x4.lt(f32x4.abs(denominator), f32x4.splat(TINY_DENOMINATOR));
    return v128.or(
      v128.andnot(tiny, Moments.zeroDenominator(denominator)),
      f32x4.ne(difference, difference),
    );
  }

  /** Adds a query to the adjoints: A_n += α a_n q^n, B_n += β a_n q^n. */
  @inline static addQuery(
    cell: usize,
    qq: v128,
    alpha: v128,
    beta: v128,
    halves: usize,
    terms: i32,
  ): void {
    let weightedAlpha = alpha;
    let weightedBeta = beta;
    for (let n = 1; n <= terms; n++) {
      v128.store(cell, f32x4.add(v128.load(cell, PARTIAL_S), weightedAlpha), PARTIAL_S);
      v128.store(cell, f32x4.add(v128.load(cell, PARTIAL_Z), weightedBeta), PARTIAL_Z);
      // a_n q^n = a_{n-1} q^{n-1} · q · 2/n
      const w = f32x4.mul(qq, Moments.half(halves, n));
      weightedAlpha = f32x4.mul(weightedAlpha, w);
      weightedBeta = f32x4.mul(weightedBeta, w);
      cell += CELL;
    }
  }

  /** ∂v = Σ f_n A_n and ∂k = Σ (n f_{n-1} - 2 f_{n+1}) (v A_n + B_n), stored at `dkAt`, `dvAt`. */
  @inline static keyGradient(
    cell: usize,
    kk: v128,
    vv: v128,
    terms: i32,
    dkAt: usize,
    dvAt: usize,
    constants: usize,
  ): void {
    let below = f32x4.splat(0);
    let f = Exp.ofNegative(f32x4.mul(kk, kk), constants);
    let dk = f32x4.splat(0);
    let dv = f32x4.splat(0);
    for (let n = 0; n < terms; n++) {
      const above = f32x4.mul(f, kk);
      const slope = f32x4.sub(f32x4.mul(f32x4.splat(<f32>n), below), f32x4.add(above, above));
      const an = Moments.s(cell);
      const bn = Moments.z(cell);
      dv = f32x4.add(dv, f32x4.mul(f, an));
      dk = f32x4.add(dk, f32x4.mul(slope, f32x4.add(f32x4.mul(vv, an), bn)));
      below = f;
      f = above;
      cell += CELL;
    }
    v128.store(dkAt, dk);
    v128.store(dvAt, dv);
  }
}
