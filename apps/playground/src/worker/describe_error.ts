const OUT_OF_MEMORY =
  /out of memory|oom|failed to allocate|allocation failed|cannot allocate|array buffer allocation|invalid array length|maxBufferSize|exceeds the max|greater than WebGL maximum|wasm heap|memory access out of bounds|device (was )?lost/i;

/** Whether an error looks like the device or the WebAssembly heap running out of memory. */
export function isOutOfMemory(error: unknown): boolean {
  return (
    OUT_OF_MEMORY.test(describeError(error)) || (error as Error)?.name === 'WasmHeapExhaustedError'
  );
}

/** An error as one line of words for the page. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
