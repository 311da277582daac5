/**
 * The parameter records of the exported kernels (DESIGN.md §4): a kernel's only argument is the
 * address of its record in the module's memory, whose fields carry the contract's names, so two
 * pointers or two sizes cannot be swapped by position. TypeScript fills a record by field name
 * from the layout table of src/simd/kernel_records.ts.
 *
 * scripts/build-wasm.mjs reads these declarations and makes the module export the byte offset of
 * every field as `offsetof_<Record>_<field>` and each record's size as `sizeof_<Record>`, from
 * `offsetof` itself; the loader compares them with the TypeScript table and refuses a module that
 * disagrees. So a field is declared once here, as `name: usize;` (an address in this memory) or
 * `name: i32;` (a size or an attr, `causal` 0 or 1), one per line; a record that `extends`
 * another has the other's fields first.
 */

/**
 * What the forward and the backward share: their inputs, sizes and attrs, and the module's
 * scratch; each adds its own arrays after these fields.
 */
@unmanaged
export class AttentionRecord {
  q: usize;
  k: usize;
  v: usize;
  mask: usize;
  initialS: usize;
  initialZ: usize;
  batch: i32;
  queries: i32;
  keys: i32;
  channels: i32;
  order: i32;
  causal: i32;
  scratch: usize;
}

/** ElementwiseAttentionForward: the outputs. */
@unmanaged
export class ForwardRecord extends AttentionRecord {
  y: usize;
  finalS: usize;
  finalZ: usize;
}

/** ElementwiseAttentionBackward: the upstream gradients, then the gradients. */
@unmanaged
export class BackwardRecord extends AttentionRecord {
  dy: usize;
  dFinalS: usize;
  dFinalZ: usize;
  dq: usize;
  dk: usize;
  dv: usize;
  dInitialS: usize;
  dInitialZ: usize;
}

/** e^{-s} of `count` float32 values (a multiple of 4), for tests of the kernels' exponential. */
@unmanaged
export class ExpRecord {
  source: usize;
  target: usize;
  count: i32;
  scratch: usize;
}
