/**
 * EA-series hot loops in WebAssembly SIMD (AssemblyScript, compiled with `--enable simd`).
 *
 * Same passes and formulas as src/maths/series.ts, two channels per `f64x2` vector: inputs and
 * outputs are float32 rows of `channels` values (an even count: the caller pads), moments and
 * adjoints are float64 `[terms, channels]` blocks per batch element. Every sum is float64, like
 * the plain TypeScript kernels, so causal running sums stay accurate over long sequences.
 * `e^x` is computed here (range reduction + degree-12 polynomial, relative error ~1e-16).
 */

const LOG2E: f64 = Math.LOG2E;
const LN2_HI: f64 = 0.6931471803691238;
const LN2_LO: f64 = 1.9082149292705877e-10;
/** 1.5 · 2^52: adding it rounds to an integer held in the low mantissa bits. */
const ROUNDER: f64 = 6755399441055744.0;
/** Below this, e^x is treated as 0 (e^-708 is about the smallest normal float64). */
const EXP_FLOOR: f64 = -708.0;
/** 2^-1022: denominators below this (or NaN) count as zero. */
const MIN_NORMAL: f64 = 2.2250738585072014e-308;

/** e^x for each lane with x <= 0; 0 where x < -708. */
function exp2(x: v128): v128 {
  const clamped = f64x2.max(x, f64x2.splat(EXP_FLOOR));
  const shifted = f64x2.add(f64x2.mul(clamped, f64x2.splat(LOG2E)), f64x2.splat(ROUNDER));
  const n = f64x2.sub(shifted, f64x2.splat(ROUNDER));
  const r = f64x2.sub(
    f64x2.sub(clamped, f64x2.mul(n, f64x2.splat(LN2_HI))),
    f64x2.mul(n, f64x2.splat(LN2_LO)),
  );
  // Σ_{i<=12} r^i / i! by Horner; |r| <= ln2 / 2.
  let p = f64x2.splat(2.08767569878681e-9);
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.505210838544172e-8));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.755731922398589e-7));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.7557319223985893e-6));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.48015873015873e-5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.984126984126984e-4));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.388888888888889e-3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(8.333333333333333e-3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(4.1666666666666664e-2));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.16666666666666666));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  // 2^n from the integer in the low bits of `shifted`.
  const integer = i64x2.sub(shifted, i64x2.splat(reinterpret<i64>(ROUNDER)));
  const scale = i64x2.shl(i64x2.add(integer, i64x2.splat(1023)), 52);
  const result = f64x2.mul(p, scale);
  return v128.andnot(result, f64x2.lt(x, f64x2.splat(EXP_FLOOR)));
}

/** Two float32 values at `ptr` as f64x2. */
function load2(ptr: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(ptr));
}

/** Stores f64x2 `x` as two float32 values at `ptr`. */
function store2(ptr: usize, x: v128): void {
  v128.store64_lane(ptr, f32x4.demote_f64x2_zero(x), 0);
}

/** Moments at `S`, `Z` (stride `stride` bytes per term): S_n += f_n(k) v, Z_n += f_n(k). */
function addKey(S: usize, Z: usize, kk: v128, vv: v128, terms: i32, stride: usize): void {
  let f = exp2(f64x2.neg(f64x2.mul(kk, kk)));
  let fv = f64x2.mul(f, vv);
  for (let n = 0; n < terms; n++) {
    v128.store(S, f64x2.add(v128.load(S), fv));
    v128.store(Z, f64x2.add(v128.load(Z), f));
    f = f64x2.mul(f, kk);
    fv = f64x2.mul(fv, kk);
    S += stride;
    Z += stride;
  }
}

/** Whether each lane's denominator is nonzero under the zero-denominator rule. */
function nonzero(denominator: v128): v128 {
  return f64x2.ge(f64x2.abs(denominator), f64x2.splat(MIN_NORMAL));
}

/** N / M for queries `qq` (Horner in q), 0 where M counts as zero. */
function readQuery(S: usize, Z: usize, qq: v128, a: usize, terms: i32, stride: usize): v128 {
  let numerator = f64x2.splat(0);
  let denominator = f64x2.splat(0);
  for (let n = terms - 1; n >= 0; n--) {
    const an = f64x2.splat(load<f64>(a + ((<usize>n) << 3)));
    const at = <usize>n * stride;
    numerator = f64x2.add(f64x2.mul(numerator, qq), f64x2.mul(an, v128.load(S + at)));
    denominator = f64x2.add(f64x2.mul(denominator, qq), f64x2.mul(an, v128.load(Z + at)));
  }
  const ok = nonzero(denominator);
  const safe = v128.bitselect(denominator, f64x2.splat(1), ok);
  return v128.and(f64x2.div(numerator, safe), ok);
}

/**
 * Per-query backward for queries `qq` with upstream `g`: stores ∂q (float32) at `dqPtr` and
 * α = g/M, β = -g y/M (f64x2, 0 where M counts as zero) at `scratch` and `scratch + 16`.
 */
function queryGradient(
  S: usize,
  Z: usize,
  qq: v128,
  g: v128,
  a: usize,
  terms: i32,
  stride: usize,
  dqPtr: usize,
  scratch: usize,
): void {
  let numerator = f64x2.splat(0);
  let denominator = f64x2.splat(0);
  let numeratorSlope = f64x2.splat(0);
  let denominatorSlope = f64x2.splat(0);
  for (let n = terms - 1; n >= 0; n--) {
    const an = f64x2.splat(load<f64>(a + ((<usize>n) << 3)));
    const at = <usize>n * stride;
    numeratorSlope = f64x2.add(f64x2.mul(numeratorSlope, qq), numerator);
    denominatorSlope = f64x2.add(f64x2.mul(denominatorSlope, qq), denominator);
    numerator = f64x2.add(f64x2.mul(numerator, qq), f64x2.mul(an, v128.load(S + at)));
    denominator = f64x2.add(f64x2.mul(denominator, qq), f64x2.mul(an, v128.load(Z + at)));
  }
  const ok = nonzero(denominator);
  const safe = v128.bitselect(denominator, f64x2.splat(1), ok);
  const alpha = v128.and(f64x2.div(g, safe), ok);
  const beta = f64x2.neg(f64x2.div(f64x2.mul(alpha, numerator), safe));
  const dq = f64x2.add(f64x2.mul(alpha, numeratorSlope), f64x2.mul(beta, denominatorSlope));
  store2(dqPtr, dq);
  v128.store(scratch, alpha);
  v128.store(scratch, beta, 16);
}

/** Adjoints at `A`, `B`: A_n += α a_n q^n, B_n += β a_n q^n. */
function addQuery(
  A: usize,
  B: usize,
  qq: v128,
  alpha: v128,
  beta: v128,
  a: usize,
  terms: i32,
  stride: usize,
): void {
  let power = f64x2.splat(1);
  for (let n = 0; n < terms; n++) {
    const weight = f64x2.mul(f64x2.splat(load<f64>(a + ((<usize>n) << 3))), power);
    v128.store(A, f64x2.add(v128.load(A), f64x2.mul(alpha, weight)));
    v128.store(B, f64x2.add(v128.load(B), f64x2.mul(beta, weight)));
    power = f64x2.mul(power, qq);
    A += stride;
    B += stride;
  }
}

/** ∂v = Σ f_n A_n and ∂k = Σ (n f_{n-1} - 2 f_{n+1}) (v A_n + B_n), stored as float32. */
function keyGradient(
  A: usize,
  B: usize,
  kk: v128,
  vv: v128,
  terms: i32,
  stride: usize,
  dkPtr: usize,
  dvPtr: usize,
): void {
  let below = f64x2.splat(0);
  let f = exp2(f64x2.neg(f64x2.mul(kk, kk)));
  let dk = f64x2.splat(0);
  let dv = f64x2.splat(0);
  for (let n = 0; n < terms; n++) {
    const above = f64x2.mul(f, kk);
    const slope = f64x2.sub(
      f64x2.mul(f64x2.splat(<f64>n), below),
      f64x2.mul(f64x2.splat(2), above),
    );
    const an = v128.load(A);
    dv = f64x2.add(dv, f64x2.mul(f, an));
    dk = f64x2.add(dk, f64x2.mul(slope, f64x2.add(f64x2.mul(vv, an), v128.load(B))));
    below = f;
    f = above;
    A += stride;
    B += stride;
  }
  store2(dkPtr, dk);
  store2(dvPtr, dv);
}

/**
 * Forward over `batch` sequences. q, y: [batch, queries, channels]; k, v: [batch, keys,
 * channels] (float32); mask: [batch, keys] (float32); S, Z: [batch, terms, channels] float64,
 * holding the initial state on entry and the final state on return; a: [terms] float64.
 */
export function forward(
  q: usize,
  k: usize,
  v: usize,
  mask: usize,
  y: usize,
  S: usize,
  Z: usize,
  a: usize,
  batch: i32,
  queries: i32,
  keys: i32,
  channels: i32,
  terms: i32,
  causal: bool,
): void {
  const row = (<usize>channels) << 2;
  const stride = (<usize>channels) << 3;
  for (let b = 0; b < batch; b++) {
    const Sb = S + <usize>b * <usize>terms * stride;
    const Zb = Z + <usize>b * <usize>terms * stride;
    const keyAt = <usize>b * <usize>keys * row;
    const queryAt = <usize>b * <usize>queries * row;
    const maskAt = mask + ((<usize>b * <usize>keys) << 2);
    if (causal) {
      for (let i = 0; i < keys; i++) {
        const visible = load<f32>(maskAt + ((<usize>i) << 2)) !== 0;
        const at = keyAt + <usize>i * row;
        for (let c = 0; c < channels; c += 2) {
          const x = at + ((<usize>c) << 2);
          const s = (<usize>c) << 3;
          if (visible) addKey(Sb + s, Zb + s, load2(k + x), load2(v + x), terms, stride);
          store2(y + x, readQuery(Sb + s, Zb + s, load2(q + x), a, terms, stride));
        }
      }
    } else {
      for (let j = 0; j < keys; j++) {
        if (load<f32>(maskAt + ((<usize>j) << 2)) === 0) continue;
        const at = keyAt + <usize>j * row;
        for (let c = 0; c < channels; c += 2) {
          const x = at + ((<usize>c) << 2);
          const s = (<usize>c) << 3;
          addKey(Sb + s, Zb + s, load2(k + x), load2(v + x), terms, stride);
        }
      }
      for (let i = 0; i < queries; i++) {
        const at = queryAt + <usize>i * row;
        for (let c = 0; c < channels; c += 2) {
          const x = at + ((<usize>c) << 2);
          const s = (<usize>c) << 3;
          store2(y + x, readQuery(Sb + s, Zb + s, load2(q + x), a, terms, stride));
        }
      }
    }
  }
}

/**
 * Backward over `batch` sequences, layouts as in {@link forward}. S, Z hold the initial state;
 * A, B hold dFinalS, dFinalZ on entry and dInitialS, dInitialZ on return. `scratch`: 32 bytes.
 * Causal (as in src/maths/series.ts): `checkpoints` holds the moments every `block` keys
 * (2 · terms · channels float64 per block), `alphas` and `betas` one block of α, β
 * (block · channels float64 each).
 */
export function backward(
  q: usize,
  k: usize,
  v: usize,
  mask: usize,
  dy: usize,
  dq: usize,
  dk: usize,
  dv: usize,
  S: usize,
  Z: usize,
  A: usize,
  B: usize,
  a: usize,
  scratch: usize,
  checkpoints: usize,
  alphas: usize,
  betas: usize,
  block: i32,
  batch: i32,
  queries: i32,
  keys: i32,
  channels: i32,
  terms: i32,
  causal: bool,
): void {
  const row = (<usize>channels) << 2;
  const stride = (<usize>channels) << 3;
  const stateBytes = <usize>terms * stride;
  for (let b = 0; b < batch; b++) {
    const state = <usize>b * stateBytes;
    const keyAt = <usize>b * <usize>keys * row;
    const queryAt = <usize>b * <usize>queries * row;
    const maskAt = mask + ((<usize>b * <usize>keys) << 2);
    if (causal) {
      // Pass 1: the moments at the start of every block (checkpoints).
      for (let i = 0; i < keys; i++) {
        if (i % block === 0) {
          const checkpoint = checkpoints + <usize>(i / block) * 2 * stateBytes;
          memory.copy(checkpoint, S + state, stateBytes);
          memory.copy(checkpoint + stateBytes, Z + state, stateBytes);
        }
        if (load<f32>(maskAt + ((<usize>i) << 2)) === 0) continue;
        const at = keyAt + <usize>i * row;
        for (let c = 0; c < channels; c += 2) {
          const x = at + ((<usize>c) << 2);
          const s = state + ((<usize>c) << 3);
          addKey(S + s, Z + s, load2(k + x), load2(v + x), terms, stride);
        }
      }
      // Blocks last to first: forward from the checkpoint for ∂q, α, β (float64); then backward
      // through the block, growing the suffix sums A, B and writing ∂k, ∂v.
      for (let first = ((keys - 1) / block) * block; first >= 0; first -= block) {
        const end = min(keys, first + block);
        const checkpoint = checkpoints + <usize>(first / block) * 2 * stateBytes;
        memory.copy(S + state, checkpoint, stateBytes);
        memory.copy(Z + state, checkpoint + stateBytes, stateBytes);
        for (let i = first; i < end; i++) {
          const visible = load<f32>(maskAt + ((<usize>i) << 2)) !== 0;
          const at = keyAt + <usize>i * row;
          const local = <usize>(i - first) * stride;
          for (let c = 0; c < channels; c += 2) {
            const x = at + ((<usize>c) << 2);
            const s = state + ((<usize>c) << 3);
            if (visible) addKey(S + s, Z + s, load2(k + x), load2(v + x), terms, stride);
            queryGradient(
              S + s,
              Z + s,
              load2(q + x),
              load2(dy + x),
              a,
              terms,
              stride,
              dq + x,
              scratch,
            );
            v128.store(alphas + local + ((<usize>c) << 3), v128.load(scratch));
            v128.store(betas + local + ((<usize>c) << 3), v128.load(scratch, 16));
          }
        }
        for (let j = end - 1; j >= first; j--) {
          const visible = load<f32>(maskAt + ((<usize>j) << 2)) !== 0;
          const at = keyAt + <usize>j * row;
          const local = <usize>(j - first) * stride;
          for (let c = 0; c < channels; c += 2) {
            const x = at + ((<usize>c) << 2);
            const s = state + ((<usize>c) << 3);
            const alpha = v128.load(alphas + local + ((<usize>c) << 3));
            const beta = v128.load(betas + local + ((<usize>c) << 3));
            addQuery(A + s, B + s, load2(q + x), alpha, beta, a, terms, stride);
            if (visible) {
              keyGradient(A + s, B + s, load2(k + x), load2(v + x), terms, stride, dk + x, dv + x);
            } else {
              v128.store64_lane(dk + x, f64x2.splat(0), 0);
              v128.store64_lane(dv + x, f64x2.splat(0), 0);
            }
          }
        }
      }
    } else {
      for (let j = 0; j < keys; j++) {
        if (load<f32>(maskAt + ((<usize>j) << 2)) === 0) continue;
        const at = keyAt + <usize>j * row;
        for (let c = 0; c < channels; c += 2) {
          const x = at + ((<usize>c) << 2);
          const s = state + ((<usize>c) << 3);
          addKey(S + s, Z + s, load2(k + x), load2(v + x), terms, stride);
        }
      }
      for (let i = 0; i < queries; i++) {
        const at = queryAt + <usize>i * row;
        for (let c = 0; c < channels; c += 2) {
          const x = at + ((<usize>c) << 2);
          const s = state + ((<usize>c) << 3);
          const qq = load2(q + x);
          queryGradient(S + s, Z + s, qq, load2(dy + x), a, terms, stride, dq + x, scratch);
          addQuery(A + s, B + s, qq, v128.load(scratch), v128.load(scratch, 16), a, terms, stride);
        }
      }
      for (let j = 0; j < keys; j++) {
        const visible = load<f32>(maskAt + ((<usize>j) << 2)) !== 0;
        const at = keyAt + <usize>j * row;
        for (let c = 0; c < channels; c += 2) {
          const x = at + ((<usize>c) << 2);
          const s = state + ((<usize>c) << 3);
          if (visible) {
            keyGradient(A + s, B + s, load2(k + x), load2(v + x), terms, stride, dk + x, dv + x);
          } else {
            v128.store64_lane(dk + x, f64x2.splat(0), 0);
            v128.store64_lane(dv + x, f64x2.splat(0), 0);
          }
        }
      }
    }
  }
}

/** Start of the memory the caller may use (after static data). */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}
