import { EA_SERIES_WASM } from '../generated/ea_series_wasm.js';
import type { Dims } from '../maths/common.js';
import {
  type SeriesGradients,
  type SeriesInputs,
  type SeriesOutputs,
  type SeriesUpstream,
  seriesBackward,
  seriesForward,
} from '../maths/series.js';

/**
 * The WebAssembly SIMD build of the series forward and backward (assembly/ea_series.ts),
 * embedded as base64. It computes four channels per float32x4 vector with float32 partial sums
 * flushed into float64 (see the assembly), and it has no memory of its own: it imports one.
 *
 * - On tfjs `wasm`, where every tensor already lives in the backend's WebAssembly memory, an
 *   instance imports that memory and computes on the tensors in place: no copies, only a scratch
 *   block (O(t·D), plus the causal backward's checkpoints) from the backend's `malloc`.
 * - Elsewhere (tfjs `cpu`, or channel counts that are not a multiple of 4) an instance with a
 *   memory of its own receives copies of the inputs (rows padded to a multiple of 4 channels)
 *   and hands back the outputs. That memory grows to the largest call seen and is reused.
 *
 * When the module reports inputs outside its float32 range (a key with k² > 64, or a tiny
 * nonzero denominator in the backward), the call is recomputed by the float64 TypeScript
 * implementation, which follows the oracle there.
 */

interface Exports {
  forward(...args: number[]): number;
  backward(...args: number[]): number;
  forwardScratchBytes(channels: number, terms: number): number;
  backwardScratchBytes(keys: number, channels: number, terms: number, causal: number): number;
  expOfNegativeInto(source: number, target: number, count: number, scratch: number): void;
  expScratchBytes(): number;
}

/** The parts of tfjs-backend-wasm's emscripten module used here (described structurally). */
interface WasmHeap {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(pointer: number): void;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

let compiled: WebAssembly.Module | null = null;
/** The instance with a memory of its own, for copied inputs. */
let own: { exports: Exports; memory: WebAssembly.Memory } | null = null;
/** Instances on imported memories (tfjs wasm heaps); null while one is being instantiated. */
const onHeap = new WeakMap<WebAssembly.Memory, Exports | null>();

/**
 * Instantiates synchronously where allowed; a browser's main thread refuses synchronous
 * compilation of modules over 4 KiB, and then the asynchronous result is used once ready.
 */
function instantiate(
  memory: WebAssembly.Memory,
  ready: (exports: Exports) => void,
): Promise<void> | null {
  const imports = { env: { memory } };
  if (compiled != null) {
    try {
      ready(new WebAssembly.Instance(compiled, imports).exports as unknown as Exports);
      return null;
    } catch {
      return WebAssembly.instantiate(compiled, imports).then(
        (instance) => ready(instance.exports as unknown as Exports),
        () => {},
      );
    }
  }
  return null;
}

function load(): Promise<void> {
  if (typeof WebAssembly !== 'object') return Promise.resolve();
  const bytes = decode(EA_SERIES_WASM);
  if (!WebAssembly.validate(bytes)) return Promise.resolve();
  const memory = new WebAssembly.Memory({ initial: 1 });
  const ready = (exports: Exports) => {
    own = { exports, memory };
  };
  try {
    compiled = new WebAssembly.Module(bytes);
    return instantiate(memory, ready) ?? Promise.resolve();
  } catch {
    return WebAssembly.instantiate(bytes, { env: { memory } }).then(
      (result) => {
        compiled = result.module;
        ready(result.instance.exports as unknown as Exports);
      },
      () => {},
    );
  }
}

const loaded = load();

/** Resolves once the SIMD build is loaded (or known to be unavailable). */
export function simdLoaded(): Promise<void> {
  return loaded;
}

/** An instance computing on `heap`'s memory, or null (not instantiable, or not ready yet). */
function heapInstance(heap: WasmHeap): Exports | null {
  const { memory } = heap;
  if (onHeap.has(memory)) return onHeap.get(memory) ?? null;
  onHeap.set(memory, null);
  // A shared (threaded) heap does not match the module's unshared memory import: it is refused
  // here and those calls keep copying.
  instantiate(memory, (exports) => onHeap.set(memory, exports));
  return onHeap.get(memory) ?? null;
}

/** How the SIMD calls ran so far: in place on a tfjs heap, on copies, or recomputed in float64. */
export interface SimdCallCounts {
  onHeap: number;
  copied: number;
  recomputed: number;
}

const counts: SimdCallCounts = { onHeap: 0, copied: 0, recomputed: 0 };

/** A snapshot of {@link SimdCallCounts}, for tests and diagnostics. */
export function simdCallCounts(): SimdCallCounts {
  return { ...counts };
}

/**
 * Guard bytes ("canaries") around the memory a call may write besides its outputs: before and
 * after the scratch on the tfjs heap, and before, between and after the regions of the module's
 * own memory. They hold a signalling-NaN bit pattern, which float arithmetic never produces
 * (its NaNs are quiet), are planted before every call and compared after it: a few words per
 * call, so they stay on, and a kernel writing outside its regions fails at once, naming
 * itself, instead of corrupting tensors or the allocator's data for something else to trip on.
 */
const CANARY_BYTES = 16;
const CANARY_WORD = 0x7fa5_a5a5;

function plantCanaries(buffer: ArrayBufferLike, offsets: readonly number[]): void {
  const words = new Uint32Array(buffer);
  for (const at of offsets) words.fill(CANARY_WORD, at >>> 2, (at + CANARY_BYTES) >>> 2);
}

function checkCanaries(
  buffer: ArrayBufferLike,
  offsets: readonly number[],
  kernel: string,
  where: string,
  dims: Dims,
  terms: number,
): void {
  const words = new Uint32Array(buffer);
  for (const at of offsets) {
    for (let i = at >>> 2; i < (at + CANARY_BYTES) >>> 2; i++) {
      if (words[i] !== CANARY_WORD) {
        const { batch, queries, keys, channels } = dims;
        throw new Error(
          `${kernel} (WebAssembly SIMD, ${where}): internal error, the kernel wrote outside ` +
            `its memory (guard bytes at byte ${at} overwritten) for B=${batch}, Lq=${queries}, ` +
            `L=${keys}, D=${channels}, order ${terms - 1}. Please report this bug of ` +
            '@elementwise/backend-cpu with these shapes; setSimdEnabled(false) avoids it.',
        );
      }
    }
  }
}

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** Bump allocation of 16-byte aligned regions from 0, with a canary before and after each. */
class Regions {
  private at = CANARY_BYTES;
  readonly canaries: number[] = [0];
  take(bytes: number): number {
    const at = this.at;
    const canary = align16(at + bytes);
    this.canaries.push(canary);
    this.at = canary + CANARY_BYTES;
    return at;
  }
  get end(): number {
    return this.at;
  }
}

/** Copies rows of `channels` floats into rows of `padded` floats (zero padding). */
function copyIn(target: Float32Array, source: Float32Array, channels: number, padded: number) {
  if (channels === padded) {
    target.set(source);
    return;
  }
  const rows = source.length / channels;
  target.fill(0);
  for (let r = 0; r < rows; r++) {
    target.set(source.subarray(r * channels, (r + 1) * channels), r * padded);
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

/** A call's float32 arrays: which are read (copied in) and which are written (copied out). */
interface Arrays {
  read: Record<string, Float32Array>;
  written: Record<string, Float32Array>;
}

/**
 * Runs `call` with a byte offset for every array and `scratch` bytes of scratch, on the tfjs
 * heap when every array is a view of it (and channels are a multiple of 4), otherwise on the
 * module's own memory with copies. Returns the module's status (0 = done), or null when the
 * call could not run (memory exhausted); then nothing was written. Throws, naming `kernel`,
 * when a canary around the call's memory was overwritten.
 */
function run(
  kernel: string,
  dims: Dims,
  terms: number,
  arrays: Arrays,
  scratchBytes: (exports: Exports, padded: number) => number,
  call: (exports: Exports, at: Record<string, number>, scratch: number, padded: number) => number,
  heap: WasmHeap | null,
): { status: number; views: Record<string, Float32Array> } | null {
  const { channels } = dims;
  const all = { ...arrays.read, ...arrays.written };
  const exports = heap != null && channels % 4 === 0 ? heapInstance(heap) : null;
  if (heap != null && exports != null) {
    const buffer = heap.memory.buffer;
    const nonEmpty = Object.values(all).filter((view) => view.length > 0);
    if (nonEmpty.every((view) => view.buffer === buffer)) {
      const at: Record<string, number> = {};
      for (const [name, view] of Object.entries(all)) at[name] = view.byteOffset;
      const bytes = scratchBytes(exports, channels);
      // Room to align the scratch to 16 bytes, with a canary before and after it. malloc may
      // grow the heap, which detaches every earlier view: offsets only from here on.
      const raw = heap.malloc(bytes + 2 * CANARY_BYTES + 32);
      if (raw === 0) return null;
      try {
        const scratch = align16(raw + CANARY_BYTES);
        const canaries = [scratch - CANARY_BYTES, align16(scratch + bytes)];
        plantCanaries(heap.memory.buffer, canaries);
        const status = call(exports, at, scratch, channels);
        counts.onHeap++;
        checkCanaries(heap.memory.buffer, canaries, kernel, 'on the tfjs wasm heap', dims, terms);
        const views: Record<string, Float32Array> = {};
        for (const [name, view] of Object.entries(all)) {
          views[name] = new Float32Array(heap.memory.buffer, at[name], view.length);
        }
        return { status, views };
      } finally {
        heap.free(raw);
      }
    }
  }
  if (own == null) return null;
  const { memory } = own;
  const padded = Math.ceil(channels / 4) * 4;
  const regions = new Regions();
  const at: Record<string, number> = {};
  const lengths: Record<string, number> = {};
  for (const [name, view] of Object.entries(all)) {
    // Arrays of rows of `channels` values are padded; the [batch, keys] mask has no channels.
    lengths[name] = name === 'mask' ? view.length : (view.length / channels) * padded;
    at[name] = regions.take(lengths[name] * 4);
  }
  const scratch = regions.take(scratchBytes(own.exports, padded));
  const missing = regions.end - memory.buffer.byteLength;
  try {
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
  } catch {
    return null;
  }
  const buffer = memory.buffer;
  plantCanaries(buffer, regions.canaries);
  const view = (name: string) => new Float32Array(buffer, at[name], lengths[name]);
  for (const [name, source] of Object.entries(arrays.read)) {
    if (name === 'mask') view(name).set(source);
    else copyIn(view(name), source, channels, padded);
  }
  const status = call(own.exports, at, scratch, padded);
  counts.copied++;
  checkCanaries(buffer, regions.canaries, kernel, 'on copies', dims, terms);
  if (status === 0) {
    for (const [name, target] of Object.entries(arrays.written)) {
      copyOut(target, view(name), channels, padded);
    }
  }
  return { status, views: all };
}

function forward(
  inputs: SeriesInputs,
  dims: Dims,
  order: number,
  causal: boolean,
  out: SeriesOutputs,
  heap: WasmHeap | null,
): boolean {
  const { batch, queries, keys } = dims;
  const terms = order + 1;
  const result = run(
    'ElementwiseAttentionForward',
    dims,
    terms,
    { read: { ...inputs }, written: { ...out } },
    (exports, padded) => exports.forwardScratchBytes(padded, terms),
    (exports, at, scratch, padded) =>
      exports.forward(
        at.q,
        at.k,
        at.v,
        at.mask,
        at.y,
        at.initialS,
        at.initialZ,
        at.finalS,
        at.finalZ,
        scratch,
        batch,
        queries,
        keys,
        padded,
        terms,
        causal ? 1 : 0,
      ),
    heap,
  );
  if (result == null) return false;
  if (result.status !== 0) {
    counts.recomputed++;
    const v = result.views;
    seriesForward(
      { q: v.q, k: v.k, v: v.v, mask: v.mask, initialS: v.initialS, initialZ: v.initialZ },
      dims,
      order,
      causal,
      { y: v.y, finalS: v.finalS, finalZ: v.finalZ },
    );
  }
  return true;
}

function backward(
  inputs: SeriesInputs,
  upstream: SeriesUpstream,
  dims: Dims,
  order: number,
  causal: boolean,
  out: SeriesGradients,
  heap: WasmHeap | null,
): boolean {
  const { batch, queries, keys } = dims;
  const terms = order + 1;
  const result = run(
    'ElementwiseAttentionBackward',
    dims,
    terms,
    { read: { ...inputs, ...upstream }, written: { ...out } },
    (exports, padded) => exports.backwardScratchBytes(keys, padded, terms, causal ? 1 : 0),
    (exports, at, scratch, padded) =>
      exports.backward(
        at.q,
        at.k,
        at.v,
        at.mask,
        at.dy,
        at.initialS,
        at.initialZ,
        at.dFinalS,
        at.dFinalZ,
        at.dq,
        at.dk,
        at.dv,
        at.dInitialS,
        at.dInitialZ,
        scratch,
        batch,
        queries,
        keys,
        padded,
        terms,
        causal ? 1 : 0,
      ),
    heap,
  );
  if (result == null) return false;
  if (result.status !== 0) {
    counts.recomputed++;
    const v = result.views;
    seriesBackward(
      { q: v.q, k: v.k, v: v.v, mask: v.mask, initialS: v.initialS, initialZ: v.initialZ },
      { dy: v.dy, dFinalS: v.dFinalS, dFinalZ: v.dFinalZ },
      dims,
      order,
      causal,
      { dq: v.dq, dk: v.dk, dv: v.dv, dInitialS: v.dInitialS, dInitialZ: v.dInitialZ },
    );
  }
  return true;
}

export interface SeriesImplementation {
  forward: typeof forward;
  backward: typeof backward;
}

/**
 * The SIMD implementation, or null where WebAssembly SIMD is unavailable (or still loading).
 * Its functions return false, having written nothing, when memory cannot be had for the call.
 */
export function seriesSimd(): SeriesImplementation | null {
  return own == null ? null : { forward, backward };
}

/**
 * `e^{-s}` as the kernels compute it (float32, s >= 0) for each value, by the SIMD module; for
 * tests. Null where the module is unavailable.
 */
export function simdExpOfNegative(values: Float32Array): Float32Array | null {
  if (own == null) return null;
  const { memory, exports } = own;
  const count = Math.ceil(values.length / 4) * 4;
  const scratch = 2 * count * 4;
  const bytes = scratch + exports.expScratchBytes();
  if (memory.buffer.byteLength < bytes) {
    memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  }
  const source = new Float32Array(memory.buffer, 0, count);
  source.fill(0);
  source.set(values);
  exports.expOfNegativeInto(0, count * 4, count, scratch);
  return new Float32Array(memory.buffer, count * 4, values.length).slice();
}

export type { WasmHeap };
