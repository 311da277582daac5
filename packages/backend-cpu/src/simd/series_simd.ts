import { taylorCoefficients } from '@elementwise/math';
import { EA_SERIES_WASM } from '../generated/ea_series_wasm.js';
import type { Dims } from '../maths/common.js';
import {
  BLOCK,
  type SeriesGradients,
  type SeriesInputs,
  type SeriesOutputs,
  type SeriesUpstream,
} from '../maths/series.js';

/**
 * The WebAssembly SIMD build of the series forward and backward (assembly/ea_series.ts),
 * embedded as base64. It is instantiated when this module loads, if the platform validates
 * SIMD modules; otherwise {@link seriesSimd} is null and the kernels use the plain TypeScript
 * implementations. Both compute in float64 and agree to float32 rounding.
 *
 * The module has its own memory: each call copies the inputs in (rows padded to an even channel
 * count, the SIMD width) and the results out. That memory grows to the largest call seen; a
 * call it cannot hold runs in TypeScript instead.
 */

interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  forward(...args: number[]): void;
  backward(...args: number[]): void;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

let simdModule: Exports | null = null;

function instantiate(): void {
  if (typeof WebAssembly !== 'object') return;
  const bytes = decode(EA_SERIES_WASM);
  if (!WebAssembly.validate(bytes)) return;
  try {
    // Small enough (< 4 KiB) for synchronous compilation on a browser's main thread.
    simdModule = new WebAssembly.Instance(new WebAssembly.Module(bytes), {})
      .exports as unknown as Exports;
  } catch {
    // Where synchronous compilation is refused, compile asynchronously; until it is ready the
    // TypeScript implementation runs.
    WebAssembly.instantiate(bytes, {}).then(
      (result) => {
        simdModule = result.instance.exports as unknown as Exports;
      },
      () => {},
    );
  }
}

instantiate();

/** A bump allocator over the module's memory for one call. */
class Arena {
  private offset: number;

  constructor(private readonly wasm: Exports) {
    this.offset = wasm.heapBase();
  }

  /** Reserves `bytes` (16-byte aligned) and returns the byte offset. */
  reserve(bytes: number): number {
    const at = this.offset;
    this.offset = Math.ceil((at + bytes) / 16) * 16;
    return at;
  }

  /**
   * Grows the memory to hold every reservation, or returns null when it cannot grow that far.
   * Views must be taken after this.
   */
  commit(): ArrayBuffer | null {
    const memory = this.wasm.memory;
    const missing = this.offset - memory.buffer.byteLength;
    try {
      if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    } catch {
      return null;
    }
    return memory.buffer;
  }
}

/** Copies rows of `channels` floats into rows of `padded` floats (zero padding). */
function copyIn(target: Float32Array, source: Float32Array, channels: number, padded: number) {
  if (channels === padded) {
    target.set(source);
    return;
  }
  const rows = source.length / channels;
  for (let r = 0; r < rows; r++) {
    target.set(source.subarray(r * channels, (r + 1) * channels), r * padded);
    target[r * padded + channels] = 0;
  }
}

/** The inverse of {@link copyIn}. */
function copyOut(target: Float32Array, source: Float32Array, channels: number, padded: number) {
  if (channels === padded) {
    target.set(source);
    return;
  }
  const rows = target.length / channels;
  for (let r = 0; r < rows; r++) {
    target.set(source.subarray(r * padded, r * padded + channels), r * channels);
  }
}

function loadState(target: Float64Array, source: Float32Array, channels: number, padded: number) {
  const rows = source.length / channels;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) target[r * padded + c] = source[r * channels + c];
    if (padded !== channels) target[r * padded + channels] = 0;
  }
}

function storeState(target: Float32Array, source: Float64Array, channels: number, padded: number) {
  const rows = target.length / channels;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) target[r * channels + c] = source[r * padded + c];
  }
}

interface Plan {
  f32: (at: number, length: number) => Float32Array;
  f64: (at: number, length: number) => Float64Array;
}

function plan(arena: Arena): Plan | null {
  const buffer = arena.commit();
  if (buffer == null) return null;
  return {
    f32: (at, length) => new Float32Array(buffer, at, length),
    f64: (at, length) => new Float64Array(buffer, at, length),
  };
}

function forward(
  inputs: SeriesInputs,
  dims: Dims,
  order: number,
  causal: boolean,
  out: SeriesOutputs,
): boolean {
  const wasm = simdModule as Exports;
  const { batch, queries, keys, channels } = dims;
  const padded = channels + (channels & 1);
  const terms = order + 1;
  const [querySize, keySize, stateSize] = [batch * queries, batch * keys, batch * terms].map(
    (rows) => rows * padded,
  );
  const arena = new Arena(wasm);
  const at = {
    q: arena.reserve(querySize * 4),
    k: arena.reserve(keySize * 4),
    v: arena.reserve(keySize * 4),
    mask: arena.reserve(batch * keys * 4),
    y: arena.reserve(querySize * 4),
    S: arena.reserve(stateSize * 8),
    Z: arena.reserve(stateSize * 8),
    a: arena.reserve(terms * 8),
  };
  const views = plan(arena);
  if (views == null) return false;
  const { f32, f64 } = views;
  copyIn(f32(at.q, querySize), inputs.q, channels, padded);
  copyIn(f32(at.k, keySize), inputs.k, channels, padded);
  copyIn(f32(at.v, keySize), inputs.v, channels, padded);
  f32(at.mask, batch * keys).set(inputs.mask);
  loadState(f64(at.S, stateSize), inputs.initialS, channels, padded);
  loadState(f64(at.Z, stateSize), inputs.initialZ, channels, padded);
  f64(at.a, terms).set(taylorCoefficients(order));
  wasm.forward(
    at.q,
    at.k,
    at.v,
    at.mask,
    at.y,
    at.S,
    at.Z,
    at.a,
    batch,
    queries,
    keys,
    padded,
    terms,
    causal ? 1 : 0,
  );
  // The module never allocates, so its memory (and these views) cannot have moved.
  copyOut(out.y, f32(at.y, querySize), channels, padded);
  storeState(out.finalS, f64(at.S, stateSize), channels, padded);
  storeState(out.finalZ, f64(at.Z, stateSize), channels, padded);
  return true;
}

function backward(
  inputs: SeriesInputs,
  upstream: SeriesUpstream,
  dims: Dims,
  order: number,
  causal: boolean,
  out: SeriesGradients,
): boolean {
  const wasm = simdModule as Exports;
  const { batch, queries, keys, channels } = dims;
  const padded = channels + (channels & 1);
  const terms = order + 1;
  const [querySize, keySize, stateSize] = [batch * queries, batch * keys, batch * terms].map(
    (rows) => rows * padded,
  );
  const arena = new Arena(wasm);
  const at = {
    q: arena.reserve(querySize * 4),
    k: arena.reserve(keySize * 4),
    v: arena.reserve(keySize * 4),
    mask: arena.reserve(batch * keys * 4),
    dy: arena.reserve(querySize * 4),
    dq: arena.reserve(querySize * 4),
    dk: arena.reserve(keySize * 4),
    dv: arena.reserve(keySize * 4),
    S: arena.reserve(stateSize * 8),
    Z: arena.reserve(stateSize * 8),
    A: arena.reserve(stateSize * 8),
    B: arena.reserve(stateSize * 8),
    a: arena.reserve(terms * 8),
    scratch: arena.reserve(32),
    checkpoints: arena.reserve(causal ? Math.ceil(keys / BLOCK) * 2 * terms * padded * 8 : 0),
    alphas: arena.reserve(causal ? Math.min(keys, BLOCK) * padded * 8 : 0),
    betas: arena.reserve(causal ? Math.min(keys, BLOCK) * padded * 8 : 0),
  };
  const views = plan(arena);
  if (views == null) return false;
  const { f32, f64 } = views;
  copyIn(f32(at.q, querySize), inputs.q, channels, padded);
  copyIn(f32(at.k, keySize), inputs.k, channels, padded);
  copyIn(f32(at.v, keySize), inputs.v, channels, padded);
  f32(at.mask, batch * keys).set(inputs.mask);
  copyIn(f32(at.dy, querySize), upstream.dy, channels, padded);
  loadState(f64(at.S, stateSize), inputs.initialS, channels, padded);
  loadState(f64(at.Z, stateSize), inputs.initialZ, channels, padded);
  loadState(f64(at.A, stateSize), upstream.dFinalS, channels, padded);
  loadState(f64(at.B, stateSize), upstream.dFinalZ, channels, padded);
  f64(at.a, terms).set(taylorCoefficients(order));
  wasm.backward(
    at.q,
    at.k,
    at.v,
    at.mask,
    at.dy,
    at.dq,
    at.dk,
    at.dv,
    at.S,
    at.Z,
    at.A,
    at.B,
    at.a,
    at.scratch,
    at.checkpoints,
    at.alphas,
    at.betas,
    BLOCK,
    batch,
    queries,
    keys,
    padded,
    terms,
    causal ? 1 : 0,
  );
  copyOut(out.dq, f32(at.dq, querySize), channels, padded);
  copyOut(out.dk, f32(at.dk, keySize), channels, padded);
  copyOut(out.dv, f32(at.dv, keySize), channels, padded);
  storeState(out.dInitialS, f64(at.A, stateSize), channels, padded);
  storeState(out.dInitialZ, f64(at.B, stateSize), channels, padded);
  return true;
}

export interface SeriesImplementation {
  forward: typeof forward;
  backward: typeof backward;
}

/**
 * The SIMD implementation, or null where WebAssembly SIMD is unavailable. Its functions return
 * false, having done nothing, when the module's memory cannot grow to the call's size.
 */
export function seriesSimd(): SeriesImplementation | null {
  return simdModule == null ? null : { forward, backward };
}
