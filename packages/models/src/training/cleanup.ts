/**
 * Runs a cleanup step of a `finally` block. After a failure its errors are dropped, so they
 * never replace the failure being reported: after the tfjs wasm backend aborts, disposing any
 * tensor traps too, and that trap would hide the abort and its explanation. Without a failure
 * they are thrown as usual.
 */
export function cleanUp(step: () => void, afterFailure: boolean): void {
  try {
    step();
  } catch (error) {
    if (!afterFailure) throw error;
  }
}
