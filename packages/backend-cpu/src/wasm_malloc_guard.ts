/**
 * A guard on the tfjs `wasm` backend's allocator.
 *
 * tfjs-backend-wasm 4.x allocates every tensor with `this.wasm._malloc(bytes) >>> 0` and never
 * checks the result. When its heap cannot grow any more (a wasm32 memory stops at 4 GiB), malloc
 * returns 0, the tensor is registered at address 0, and whatever fills it next (tfjs's own
 * kernels, the copy of its values, or a host kernel writing through `typedArrayFromHeap`)
 * overwrites the start of the heap, where the allocator and XNNPACK keep their state. The
 * failure then shows up far away, as an out-of-bounds trap in some later `dispose`. Making the
 * module's `_malloc` throw on a failed allocation turns that into an error at the allocation.
 */

/** The largest a wasm32 memory can be. */
export const WASM32_HEAP_LIMIT = 2 ** 32;

/** The parts of tfjs-backend-wasm's emscripten module the guard touches. */
export interface MallocModule {
  asm?: { malloc?: unknown };
  _malloc?: (bytes: number) => number;
}

const GUARDED = Symbol('elementwise.mallocGuard');

/**
 * The error of an allocation the malloc guard refused: the tfjs wasm heap cannot hold `bytes`
 * more. Recognise it by `error.name === 'WasmHeapExhaustedError'` (or `error.code ===
 * 'ELEMENTWISE_WASM_HEAP_EXHAUSTED'`), which stay the same whatever the message says; packages
 * that do not import this one (`@elementwise/models`) match on them. Nothing was written when
 * it is thrown, so the backend stays usable.
 */
export class WasmHeapExhaustedError extends Error {
  override readonly name = 'WasmHeapExhaustedError';
  readonly code = 'ELEMENTWISE_WASM_HEAP_EXHAUSTED';

  constructor(
    /** The bytes requested. */
    readonly bytes: number,
    /** The size of the heap when the allocation failed. */
    readonly heapBytes: number,
    message: string,
  ) {
    super(message);
  }
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

/** Where the heap stands and what to reduce, for errors about an exhausted tfjs wasm heap. */
export function heapExhaustedAdvice(memory: WebAssembly.Memory): string {
  const size = memory.buffer.byteLength;
  return (
    `the heap is at ${size} bytes (${gib(size)}) and a wasm32 heap cannot exceed 4 GiB ` +
    `(${WASM32_HEAP_LIMIT} bytes). Reduce what is held at once: the batch size, the sequence ` +
    'length (context), the model size (dModel, numLayers), or dispose tensors no longer needed'
  );
}

/**
 * The module's own malloc, as a function returning an unsigned address (0 when the allocation
 * failed). The export itself is preferred: emscripten's `_malloc` may still be a stub that
 * replaces itself with the export on its first call, which would drop a wrapper installed
 * around it.
 */
export function rawMalloc(module: MallocModule): ((bytes: number) => number) | null {
  const exported = module.asm?.malloc;
  const malloc = typeof exported === 'function' ? exported : module._malloc;
  if (typeof malloc !== 'function') return null;
  // wasm32 malloc returns a signed i32: addresses past 2 GiB come back negative.
  return (bytes: number) => (malloc as (bytes: number) => number)(bytes) >>> 0;
}

/**
 * Replaces `module._malloc` by a wrapper that throws when an allocation of a nonzero size fails,
 * instead of returning 0. Installed once per module; returns whether the guard is in place.
 */
export function guardMalloc(module: MallocModule, memory: WebAssembly.Memory): boolean {
  const current = module._malloc as ((bytes: number) => number) & { [GUARDED]?: true };
  if (typeof current === 'function' && current[GUARDED]) return true;
  const malloc = rawMalloc(module);
  if (malloc == null) return false;
  const guarded = Object.assign(
    (bytes: number) => {
      const pointer = malloc(bytes);
      if (pointer === 0 && bytes > 0) {
        throw new WasmHeapExhaustedError(
          bytes,
          memory.buffer.byteLength,
          `tfjs wasm backend: could not allocate ${bytes} bytes on its WebAssembly heap; ` +
            `${heapExhaustedAdvice(memory)}.`,
        );
      }
      return pointer;
    },
    { [GUARDED]: true as const },
  );
  module._malloc = guarded;
  return true;
}
