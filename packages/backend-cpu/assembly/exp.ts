/**
 * e^{-s} on four float32 lanes, for s >= 0 (the kernels need e^{-k²} only).
 *
 * Range reduction -s = n·ln2 + r with n = round(-s / ln2), |r| <= ln2 / 2, and ln2 split in two
 * (Cody–Waite) so that n·ln2 is subtracted without rounding error; e^r = 1 + r + r²·P(r) with the
 * degree-4 minimax P (written in -r, so -s is never formed); 2^n is applied by
 * adding n to the exponent field. Relative error about 1 ulp over s in [0, 87]. Above 87 the
 * result is exactly 0: e^-87 ≈ 1.6e-38 is the last value the exponent addition can form as a
 * normal float32. +Infinity gives 0, NaN gives NaN.
 */

const LOG2E: f32 = <f32>Math.LOG2E;
/** 1.5 · 2^23: adding it rounds a float32 of magnitude < 2^22 to an integer in the low bits. */
const ROUNDER: f32 = 12582912.0;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.1219444e-4;
// P(r) = P4 + P3 r + P2 r² + P1 r³ + P0 r⁴, a minimax fit of (e^r - 1 - r) / r² for relative
// error on |r| <= ln2 / 2 (3e-9 before rounding); written in t = -r, so odd powers change sign.
const P0: f32 = 0.0013814592966809869;
const P1: f32 = -0.008368708193302155;
const P2: f32 = 0.04166838899254799;
const P3: f32 = -0.1666652113199234;
const P4: f32 = 0.4999999403953552;
export const EXP_CEILING: f32 = 87.0;

/**
 * The constants as float32x4 splats, in memory: V8 would otherwise rematerialise each one
 * (three instructions) on every use in register-starved loops; a load costs one.
 */
export const EXP_CONSTANTS_BYTES: usize = 11 * 16;
const C_LOG2E: usize = 0;
const C_ROUNDER: usize = 16;
const C_LN2_HI: usize = 32;
const C_LN2_LO: usize = 48;
const C_P0: usize = 64;
const C_P1: usize = 80;
const C_P2: usize = 96;
const C_P3: usize = 112;
const C_P4: usize = 128;
const C_ONE: usize = 144;
const C_CEILING: usize = 160;

/** Writes the constants at `constants` ({@link EXP_CONSTANTS_BYTES} bytes, 16-byte aligned). */
export function storeExpConstants(constants: usize): void {
  v128.store(constants + C_LOG2E, f32x4.splat(LOG2E));
  v128.store(constants + C_ROUNDER, f32x4.splat(ROUNDER));
  v128.store(constants + C_LN2_HI, f32x4.splat(LN2_HI));
  v128.store(constants + C_LN2_LO, f32x4.splat(LN2_LO));
  v128.store(constants + C_P0, f32x4.splat(P0));
  v128.store(constants + C_P1, f32x4.splat(P1));
  v128.store(constants + C_P2, f32x4.splat(P2));
  v128.store(constants + C_P3, f32x4.splat(P3));
  v128.store(constants + C_P4, f32x4.splat(P4));
  v128.store(constants + C_ONE, f32x4.splat(1.0));
  v128.store(constants + C_CEILING, f32x4.splat(EXP_CEILING));
}

// biome-ignore lint/complexity/noStaticOnlyClass: AssemblyScript inlines `@inline` static methods; plain functions cannot carry decorators in TypeScript syntax.
export class Exp {
  /** e^{-s} for s >= 0, with the constants written by {@link storeExpConstants} at `c`. */
  @inline static ofNegative(s: v128, c: usize): v128 {
    const rounder = v128.load(c, C_ROUNDER);
    // shifted holds ROUNDER + n with n = round(-s·log2e) <= 0.
    const shifted = f32x4.sub(rounder, f32x4.mul(s, v128.load(c, C_LOG2E)));
    const n = f32x4.sub(shifted, rounder);
    // t = -r = s + n·ln2
    const t = f32x4.add(
      f32x4.add(s, f32x4.mul(n, v128.load(c, C_LN2_HI))),
      f32x4.mul(n, v128.load(c, C_LN2_LO)),
    );
    const t2 = f32x4.mul(t, t);
    let p = v128.load(c, C_P0);
    p = f32x4.add(f32x4.mul(p, t), v128.load(c, C_P1));
    p = f32x4.add(f32x4.mul(p, t), v128.load(c, C_P2));
    p = f32x4.add(f32x4.mul(p, t), v128.load(c, C_P3));
    p = f32x4.add(f32x4.mul(p, t), v128.load(c, C_P4));
    // e^r = 1 + r + r² P(r) = (1 - t) + t² P
    p = f32x4.add(f32x4.sub(v128.load(c, C_ONE), t), f32x4.mul(p, t2));
    // n sits in the low mantissa bits of `shifted`: move it into the exponent field of p.
    const integer = i32x4.sub(shifted, rounder);
    const result = i32x4.add(p, i32x4.shl(integer, 23));
    return v128.andnot(result, f32x4.gt(s, v128.load(c, C_CEILING)));
  }
}
