import { EA_SERIES_WASM } from '../generated/ea_series_wasm.js';
import type { BackwardRecord, ForwardRecord } from '../maths/records.js';
import { seriesBackward, seriesForward } from '../maths/series.js';
import {
  BACKWARD_RECORD,
  checkRecordLayouts,
  EXP_RECORD,
  FORWARD_RECORD,
  type RecordLayout,
  writeRecord,
} from './kernel_records.js';

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

/** The module's exports; every kernel takes the address of its record (./kernel_records.ts). */
interface Exports {
  forward(record: number): number;
  backward(record: number): number;
  forwardScratchBytes(record: number): number;
  backwardScratchBytes(record: number): number;
  expOfNegativeInto(record: number): void;
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
  if (compiled == null) return null;
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(compiled, imports);
  } catch {
    return WebAssembly.instantiate(compiled, imports).then(
      (asynchronous) => ready(asynchronous.exports as unknown as Exports),
      () => {},
    );
  }
  ready(instance.exports as unknown as Exports);
  return null;
}

function load(): Promise<void> {
  if (typeof WebAssembly !== 'object') return Promise.resolve();
  const bytes = decode(EA_SERIES_WASM);
  if (!WebAssembly.validate(bytes)) return Promise.resolve();
  const memory = new WebAssembly.Memory({ initial: 1 });
  const ready = (exports: Exports) => {
    // A module built from other records than the table describes must not run at all.
    checkRecordLayouts(exports as unknown as Record<string, unknown>);
    own = { exports, memory };
  };
  try {
    compiled = new WebAssembly.Module(bytes);
  } catch {
    return WebAssembly.instantiate(bytes, { env: { memory } }).then(
      (result) => {
        compiled = result.module;
        ready(result.instance.exports as unknown as Exports);
      },
      () => {},
    );
  }
  return instantiate(memory, ready) ?? Promise.resolve();
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
  record: ForwardRecord | BackwardRecord,
): void {
  const words = new Uint32Array(buffer);
  for (const at of offsets) {
    for (let i = at >>> 2; i < (at + CANARY_BYTES) >>> 2; i++) {
      if (words[i] !== CANARY_WORD) {
        const { batch, queries, keys, channels, order } = record;
        throw new Error(
          `${kernel} (WebAssembly SIMD, ${where}): internal error, the kernel wrote outside ` +
            `its memory (guard bytes at byte ${at} overwritten) for B=${batch}, Lq=${queries}, ` +
            `L=${keys}, D=${channels}, order ${order}. Please report this bug of ` +
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

/** An exported kernel: its record and its entry points. */
interface Entry {
  /** The tfjs kernel it computes, for messages. */
  readonly name: string;
  readonly layout: RecordLayout;
  run(exports: Exports, record: number): number;
  scratchBytes(exports: Exports, record: number): number;
}

/** An exported kernel and its float64 implementation. */
interface Kernel<Call extends ForwardRecord | BackwardRecord> extends Entry {
  /** Recomputes a call the module reported out of its float32 range. */
  recompute(call: Call): void;
}

const FORWARD: Kernel<ForwardRecord> = {
  name: 'ElementwiseAttentionForward',
  layout: FORWARD_RECORD,
  run: (exports, record) => exports.forward(record),
  scratchBytes: (exports, record) => exports.forwardScratchBytes(record),
  recompute: seriesForward,
};

const BACKWARD: Kernel<BackwardRecord> = {
  name: 'ElementwiseAttentionBackward',
  layout: BACKWARD_RECORD,
  run: (exports, record) => exports.backward(record),
  scratchBytes: (exports, record) => exports.backwardScratchBytes(record),
  recompute: seriesBackward,
};

/** The arrays of a call the module reads or writes, by field name; refuses a missing one. */
function arraysOf(layout: RecordLayout, call: object): Record<string, Float32Array> {
  const arrays: Record<string, Float32Array> = {};
  const fields = call as Record<string, unknown>;
  for (const [name, role] of Object.entries(layout.roles)) {
    if (role !== 'input' && role !== 'output') continue;
    const array = fields[name];
    if (!(array instanceof Float32Array)) {
      throw new Error(`${layout.name}: field '${name}' is missing (a Float32Array ${role})`);
    }
    arrays[name] = array;
  }
  return arrays;
}

/**
 * The values of every field of a call's record, by name: arrays at `addresses`, `channels`
 * padded to `padded`, `scratch` at `scratch`, the other sizes and attrs as the call has them.
 */
function recordValues(
  layout: RecordLayout,
  call: ForwardRecord | BackwardRecord,
  addresses: Record<string, number>,
  padded: number,
  scratch: number,
): Record<string, number> {
  const sizes: Record<string, unknown> = { ...call, channels: padded };
  const values: Record<string, number> = {};
  for (const [name, role] of Object.entries(layout.roles)) {
    if (role === 'input' || role === 'output') values[name] = addresses[name];
    else if (role === 'scratch') values[name] = scratch;
    // A missing size or attr stays missing, for writeRecord to name it.
    else if (sizes[name] !== undefined) values[name] = Number(sizes[name]);
  }
  return values;
}

/**
 * Where the record of a call on copies lies in the module's own memory (the first region of
 * {@link Regions}); the scratch size of a call on a tfjs heap is asked with its record there too.
 */
const OWN_RECORD_AT = CANARY_BYTES;

/** The scratch bytes the module asks for a call with these record values. */
function scratchBytesFor(kernel: Entry, values: Record<string, number>): number {
  const { exports, memory } = own as NonNullable<typeof own>;
  writeRecord(memory.buffer, OWN_RECORD_AT, kernel.layout, values);
  return kernel.scratchBytes(exports, OWN_RECORD_AT);
}

interface Ran {
  status: number;
  /** The call's arrays where the kernel left them: on the heap, views made after it ran. */
  views: Record<string, Float32Array>;
}

/**
 * Runs the call in place on the tfjs heap; the record and the scratch share one allocation,
 * guarded by a canary on either side. Null when the heap has no room (nothing was written).
 */
function runOnHeap(
  kernel: Entry,
  call: ForwardRecord | BackwardRecord,
  arrays: Record<string, Float32Array>,
  heap: WasmHeap,
  exports: Exports,
): Ran | null {
  const addresses: Record<string, number> = {};
  for (const [name, view] of Object.entries(arrays)) addresses[name] = view.byteOffset;
  const values = recordValues(kernel.layout, call, addresses, call.channels, 0);
  const bytes = scratchBytesFor(kernel, values);
  const recordBytes = align16(kernel.layout.bytes);
  // Room to align the record to 16 bytes, with a canary before it and after the scratch.
  // malloc may grow the heap, which detaches every earlier view: offsets only from here on.
  const raw = heap.malloc(recordBytes + bytes + 2 * CANARY_BYTES + 32);
  if (raw === 0) return null;
  try {
    const record = align16(raw + CANARY_BYTES);
    const scratch = record + recordBytes;
    const canaries = [record - CANARY_BYTES, align16(scratch + bytes)];
    plantCanaries(heap.memory.buffer, canaries);
    writeRecord(heap.memory.buffer, record, kernel.layout, { ...values, scratch });
    const status = kernel.run(exports, record);
    counts.onHeap++;
    checkCanaries(heap.memory.buffer, canaries, kernel.name, 'on the tfjs wasm heap', call);
    const views: Record<string, Float32Array> = {};
    for (const [name, view] of Object.entries(arrays)) {
      views[name] = new Float32Array(heap.memory.buffer, addresses[name], view.length);
    }
    return { status, views };
  } finally {
    heap.free(raw);
  }
}

/**
 * Runs the call on copies in the module's own memory: the record, then every array (rows
 * padded to a multiple of 4 channels), then the scratch, with canaries between them. The
 * outputs are copied back when the module succeeded. Null when the memory cannot grow.
 */
function runOnCopies(
  kernel: Entry,
  call: ForwardRecord | BackwardRecord,
  arrays: Record<string, Float32Array>,
): Ran | null {
  const { exports, memory } = own as NonNullable<typeof own>;
  const { channels } = call;
  const padded = Math.ceil(channels / 4) * 4;
  const regions = new Regions();
  const record = regions.take(kernel.layout.bytes);
  const addresses: Record<string, number> = {};
  const lengths: Record<string, number> = {};
  for (const [name, view] of Object.entries(arrays)) {
    // Arrays of rows of `channels` values are padded; the [batch, keys] mask has no channels.
    lengths[name] = name === 'mask' ? view.length : (view.length / channels) * padded;
    addresses[name] = regions.take(lengths[name] * 4);
  }
  const values = recordValues(kernel.layout, call, addresses, padded, 0);
  const scratch = regions.take(scratchBytesFor(kernel, values));
  const missing = regions.end - memory.buffer.byteLength;
  try {
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
  } catch {
    return null;
  }
  const buffer = memory.buffer;
  plantCanaries(buffer, regions.canaries);
  const view = (name: string) => new Float32Array(buffer, addresses[name], lengths[name]);
  for (const [name, source] of Object.entries(arrays)) {
    if (kernel.layout.roles[name] !== 'input') continue;
    if (name === 'mask') view(name).set(source);
    else copyIn(view(name), source, channels, padded);
  }
  writeRecord(buffer, record, kernel.layout, { ...values, scratch });
  const status = kernel.run(exports, record);
  counts.copied++;
  checkCanaries(buffer, regions.canaries, kernel.name, 'on copies', call);
  if (status === 0) {
    for (const [name, target] of Object.entries(arrays)) {
      if (kernel.layout.roles[name] === 'output') copyOut(target, view(name), channels, padded);
    }
  }
  return { status, views: arrays };
}

/**
 * Runs `call` on the tfjs heap when every array is a view of it (and channels are a multiple
 * of 4), otherwise on copies; a call the module reports out of its float32 range is recomputed
 * in float64. Returns false when the call could not run (memory exhausted); then nothing was
 * written. Throws, naming the kernel, when a canary around the call's memory was overwritten.
 */
function runKernel<Call extends ForwardRecord | BackwardRecord>(
  kernel: Kernel<Call>,
  call: Call,
  heap: WasmHeap | null,
): boolean {
  const arrays = arraysOf(kernel.layout, call);
  const exports = heap != null && call.channels % 4 === 0 ? heapInstance(heap) : null;
  const inPlace =
    heap != null &&
    exports != null &&
    Object.values(arrays).every((view) => view.length === 0 || view.buffer === heap.memory.buffer);
  const ran = inPlace
    ? runOnHeap(kernel, call, arrays, heap, exports)
    : runOnCopies(kernel, call, arrays);
  if (ran == null) return false;
  if (ran.status !== 0) {
    counts.recomputed++;
    kernel.recompute({ ...call, ...ran.views });
  }
  return true;
}

export interface SeriesImplementation {
  forward(call: ForwardRecord, heap: WasmHeap | null): boolean;
  backward(call: BackwardRecord, heap: WasmHeap | null): boolean;
}

const simd: SeriesImplementation = {
  forward: (call, heap) => runKernel(FORWARD, call, heap),
  backward: (call, heap) => runKernel(BACKWARD, call, heap),
};

/**
 * The SIMD implementation, or null where WebAssembly SIMD is unavailable (or still loading).
 * Its functions return false, having written nothing, when memory cannot be had for the call.
 */
export function seriesSimd(): SeriesImplementation | null {
  return own == null ? null : simd;
}

/**
 * `e^{-s}` as the kernels compute it (float32, s >= 0) for each value, by the SIMD module; for
 * tests. Null where the module is unavailable.
 */
export function simdExpOfNegative(values: Float32Array): Float32Array | null {
  if (own == null) return null;
  const { memory, exports } = own;
  const count = Math.ceil(values.length / 4) * 4;
  const source = align16(EXP_RECORD.bytes);
  const target = source + count * 4;
  const scratch = target + count * 4;
  const bytes = scratch + exports.expScratchBytes();
  if (memory.buffer.byteLength < bytes) {
    memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  }
  const input = new Float32Array(memory.buffer, source, count);
  input.fill(0);
  input.set(values);
  writeRecord(memory.buffer, 0, EXP_RECORD, { source, target, count, scratch });
  exports.expOfNegativeInto(0);
  return new Float32Array(memory.buffer, target, values.length).slice();
}

export type { WasmHeap };
