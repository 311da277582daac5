import * as tf from '@tensorflow/tfjs-core';
import { describeValue } from '../errors.js';
import { isRecordingGradients } from '../gradient_recording.js';
import { booleanOption, checkOptions } from '../options.js';
import { checkFloatTensor, checkMask, fail, formatShape, type TensorInput } from '../validation.js';

const OP = 'softmaxAttention';

/**
 * Softmax attention `y = softmax(q·kᵀ/√d + masks)·v` written for speed on tfjs's CPU-class
 * backends: EA's softmax twin, the one implementation that `multiHeadAttentionLayer` of
 * `@elementwise/layers` and the models run and the benchmarks time (so EA is compared against
 * the best plain-tfjs formulation, not a strawman).
 *
 * Shapes: q [N, Lq, d], k [N, L, d], v [N, L, dv], y [N, Lq, dv]; N is batch × heads. Causal
 * attention aligns the queries with the last Lq keys: query i sees keys j <= L − Lq + i, so
 * Lq = L is ordinary causal self-attention and Lq < L continues after cached keys (a KV cache).
 *
 * Each way of writing it is a {@link SoftmaxVariant}. The knobs are the ones that matter in
 * tfjs 4.22 (measured by `tooling/bench/bench/softmax_variants.ts`, results in
 * BENCHMARKS.md):
 *
 * - `transposes`: on `wasm`, `matMul` with a transpose flag leaves XNNPACK for a slow generic
 *   loop (~10× slower), so `'explicit'` transposes [L, d]-sized operands up front and never an
 *   [L, L] one (that transpose alone costs more than a matMul). On `cpu` the flags are free and
 *   slicing a transposed operand's columns is slow, so `'flags'` suits it.
 * - `gradient`: tfjs's built-in matMul gradients use the transpose flags (~8× slower on wasm);
 *   `'custom'` registers an explicit backward through `tf.customGrad` whose matMuls carry no
 *   flags in the `'explicit'` layout.
 * - `mask`: the causal mask's values are built once per size and cached (as JS arrays, so that
 *   no tensor outlives a call), or rebuilt on every call.
 * - `queryBlocks`: 1 computes the full [Lq, L] score matrix; n > 1 splits causal queries into n
 *   row blocks, and each block multiplies only against the keys it can see, skipping most of
 *   the masked upper triangle (about (n+1)/2n of the dense work and saved memory).
 * - `rowBroadcast`: how a per-query statistic (row max, row sum, δ) meets an [L, L] matrix. The
 *   `cpu` backend's broadcasting binary ops are ~9× slower than same-shape ones, so `'matmul'`
 *   expands the [L, 1] column with an outer product against a row of ones instead.
 */
export interface SoftmaxVariant {
  readonly transposes: 'flags' | 'explicit';
  readonly gradient: 'autodiff' | 'custom';
  readonly mask: 'cached' | 'per-call';
  readonly queryBlocks: number;
  readonly rowBroadcast: 'native' | 'matmul';
}

export interface SoftmaxAttentionOptions {
  /** Query i sees keys j <= L − Lq + i (needs Lq <= L). Default false. */
  causal?: boolean;
  /**
   * Key padding mask [N, L] of any numeric or boolean dtype, nonzero = visible. A query that
   * sees no visible key outputs 0 and passes no gradient, as element-wise attention does.
   */
  mask?: TensorInput;
  /** Default: {@link fastestSoftmaxVariant} for the active backend and query length. */
  variant?: SoftmaxVariant;
}

const OPTION_NAMES = ['causal', 'mask', 'variant'] as const;

const VARIANT_CHOICES = {
  transposes: ['flags', 'explicit'],
  gradient: ['autodiff', 'custom'],
  mask: ['cached', 'per-call'],
  rowBroadcast: ['native', 'matmul'],
} as const;

/** A finite stand-in for −∞: exp underflows to exactly 0, and it never makes NaN from ∞ − ∞. */
const MASKED = -1e9;

/**
 * Query rows per block of the fastest variant: where the per-block overhead (more, smaller
 * kernels) meets the skipped triangle. Measured by softmax_variants.ts on the benchmark machine.
 */
const FASTEST_BLOCK_ROWS: Record<string, number> = { cpu: 128, wasm: 512 };

/** The fastest variant measured for a backend and sequence length (BENCHMARKS.md). */
export function fastestSoftmaxVariant(backend: string, length: number): SoftmaxVariant {
  const queryBlocks = Math.max(1, Math.ceil(length / (FASTEST_BLOCK_ROWS[backend] ?? 512)));
  if (backend === 'cpu') {
    return {
      transposes: 'flags',
      gradient: 'custom',
      mask: 'cached',
      queryBlocks,
      rowBroadcast: 'matmul',
    };
  }
  return {
    transposes: 'explicit',
    gradient: 'custom',
    mask: 'cached',
    queryBlocks,
    rowBroadcast: 'native',
  };
}

/** A variant in words, as the benchmarks' tables print it. */
export function describeVariant(variant: SoftmaxVariant): string {
  const layout = variant.queryBlocks > 1 ? `${variant.queryBlocks} query blocks` : 'dense [L,L]';
  const broadcast = variant.rowBroadcast === 'matmul' ? ', outer-product row broadcast' : '';
  return `${layout}, ${variant.transposes} transposes, ${variant.gradient} gradient, ${variant.mask} mask${broadcast}`;
}

/**
 * y [N, Lq, dv] = softmax(q·kᵀ/√d + causal mask + key mask)·v for float32 q [N, Lq, d],
 * k [N, L, d] and v [N, L, dv] (N is batch × heads; tensors or nested arrays). Differentiable in
 * q, k and v (the mask is a constant): with the default `gradient: 'custom'` through an explicit
 * backward whose matMuls need no transpose flags on wasm.
 */
export function softmaxAttention(
  q: TensorInput,
  k: TensorInput,
  v: TensorInput,
  optionsIn?: SoftmaxAttentionOptions,
): tf.Tensor3D {
  const options = checkOptions<SoftmaxAttentionOptions>(OP, optionsIn, OPTION_NAMES);
  const causal = booleanOption(OP, 'options.causal', options.causal, false);
  const chosen = options.variant === undefined ? undefined : checkVariant(options.variant);
  // One scope: tensors made from arrays, and the 0/1 mask, are freed on return.
  return tf.tidy(() => {
    const { query, keys, values } = checkInputs(q, k, v, causal);
    const [batch, queryCount] = query.shape;
    const keyCount = keys.shape[1];
    const mask =
      options.mask === undefined
        ? undefined
        : (checkMask(OP, options.mask, [batch, keyCount], '[N, L]') as tf.Tensor2D);
    const variant = chosen ?? fastestSoftmaxVariant(tf.getBackend(), queryCount);
    const blocks = planBlocks(queryCount, keyCount, causal ? variant.queryBlocks : 1, causal);
    if (variant.gradient === 'autodiff' || !isRecordingGradients()) {
      return forward(query, keys, values, mask, blocks, variant, false).y;
    }
    const attend = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [qIn, kIn, vIn] = args as tf.Tensor3D[];
      const save = args[3] as tf.GradSaveFunc;
      const pass = forward(qIn, kIn, vIn, mask, blocks, variant, true);
      save([pass.scaledQ, kIn, vIn, pass.y, ...pass.probabilities]);
      return {
        value: pass.y,
        gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) =>
          backward(dy, saved as tf.Tensor3D[], blocks, variant),
      };
    });
    return attend(query, keys, values) as tf.Tensor3D;
  });
}

/** q [N, Lq, d], k [N, L, d], v [N, L, dv], all float32 and non-empty; causal needs Lq <= L. */
function checkInputs(
  qIn: TensorInput,
  kIn: TensorInput,
  vIn: TensorInput,
  causal: boolean,
): { query: tf.Tensor3D; keys: tf.Tensor3D; values: tf.Tensor3D } {
  const query = checkFloatTensor(OP, 'q', qIn);
  const keys = checkFloatTensor(OP, 'k', kIn);
  const values = checkFloatTensor(OP, 'v', vIn);
  if (query.rank !== 3) fail(OP, `q must have shape [N, Lq, d], got ${formatShape(query.shape)}`);
  const [batch, queryCount, depth] = query.shape as [number, number, number];
  if (keys.rank !== 3 || keys.shape[0] !== batch || keys.shape[2] !== depth) {
    fail(
      OP,
      `k must have shape [${batch}, L, ${depth}] to match q ${formatShape(query.shape)}, got ${formatShape(keys.shape)}`,
    );
  }
  const keyCount = keys.shape[1] as number;
  if (values.rank !== 3 || values.shape[0] !== batch || values.shape[1] !== keyCount) {
    fail(
      OP,
      `v must have shape [${batch}, ${keyCount}, dv] to match k ${formatShape(keys.shape)}, got ${formatShape(values.shape)}`,
    );
  }
  if ([queryCount, keyCount, depth, values.shape[2]].includes(0)) {
    fail(
      OP,
      `sequences must be non-empty, got q ${formatShape(query.shape)}, k ${formatShape(keys.shape)} and v ${formatShape(values.shape)}`,
    );
  }
  if (causal && queryCount > keyCount) {
    fail(OP, `causal attention needs Lq <= L, got Lq = ${queryCount} and L = ${keyCount}`);
  }
  return {
    query: query as tf.Tensor3D,
    keys: keys as tf.Tensor3D,
    values: values as tf.Tensor3D,
  };
}

function checkVariant(variant: unknown): SoftmaxVariant {
  const fields = [...Object.keys(VARIANT_CHOICES), 'queryBlocks'];
  const given = checkOptions<Record<string, unknown>>(OP, variant, fields, 'options.variant');
  for (const [name, allowed] of Object.entries(VARIANT_CHOICES)) {
    if (!(allowed as readonly unknown[]).includes(given[name])) {
      fail(
        OP,
        `options.variant.${name} must be ${allowed.map((choice) => `'${choice}'`).join(' or ')}, got ${describeValue(given[name])}`,
      );
    }
  }
  const blocks = given.queryBlocks;
  if (typeof blocks !== 'number' || !Number.isInteger(blocks) || blocks < 1) {
    fail(OP, `options.variant.queryBlocks must be an integer >= 1, got ${describeValue(blocks)}`);
  }
  return given as unknown as SoftmaxVariant;
}

/**
 * One block of queries, rows [start, end). It sees keys [0, keys). Causal: of those, the last
 * `end − start` ones (its own positions, after `keys − (end − start)` earlier ones) need the
 * triangular mask. Otherwise it sees all keys.
 */
interface QueryBlock {
  start: number;
  end: number;
  keys: number;
  causal: boolean;
}

function planBlocks(queries: number, keys: number, count: number, causal: boolean): QueryBlock[] {
  const size = Math.ceil(queries / Math.max(1, Math.min(count, queries)));
  const offset = keys - queries;
  const blocks: QueryBlock[] = [];
  for (let start = 0; start < queries; start += size) {
    const end = Math.min(queries, start + size);
    blocks.push({ start, end, keys: causal ? offset + end : keys, causal });
  }
  return blocks;
}

interface ForwardPass {
  y: tf.Tensor3D;
  /** q/√d [N, Lq, d]: scaling [Lq, d] queries is cheaper than scaling [Lq, L] scores. */
  scaledQ: tf.Tensor3D;
  /** Softmax probabilities per query block, [N, rows, keys] (rows without keys zeroed). */
  probabilities: tf.Tensor3D[];
}

function forward(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: tf.Tensor2D | undefined,
  blocks: QueryBlock[],
  variant: SoftmaxVariant,
  keepProbabilities: boolean,
): ForwardPass {
  const [batch, queries, depth] = q.shape;
  const valueDepth = v.shape[2];
  const scaledQ = tf.mul(q, 1 / Math.sqrt(depth)) as tf.Tensor3D;
  const keysT = variant.transposes === 'explicit' ? transposeLast(k) : null;
  const masks = mask === undefined ? null : keyMaskTerms(mask, queries, blocks[0].causal);
  /** Scores of a block's queries against keys [from, to): [N, rows, to − from]. */
  const scoresAgainst = (qBlock: tf.Tensor3D, from: number, to: number): tf.Tensor3D =>
    keysT
      ? tf.matMul<tf.Tensor3D>(qBlock, sliceColumns(keysT, from, to))
      : tf.matMul<tf.Tensor3D>(qBlock, sliceRows(k, from, to), false, true);
  // One causal mask per block size (all blocks but the last share one), made outside the blocks'
  // scopes so that they can share it; the caller's scope frees it.
  const causalMasks = new Map<number, tf.Tensor3D>();
  for (const block of blocks) {
    const rows = block.end - block.start;
    if (block.causal && !causalMasks.has(rows)) {
      causalMasks.set(rows, causalMask(rows, variant.mask));
    }
  }
  const outputs: tf.Tensor3D[] = [];
  const probabilities: tf.Tensor3D[] = [];
  for (const block of blocks) {
    // One scope per block, so that only its probabilities and output outlive it: peak memory is
    // then the saved probabilities plus one block's scratch, not every block's.
    const [p, output] = tf.tidy(() => {
      const rows = block.end - block.start;
      const qBlock = sliceRows(scaledQ, block.start, block.end);
      let scores: tf.Tensor3D;
      if (block.causal) {
        // Only the block's own keys need the mask; the earlier ones are all visible, so they are
        // scored apart and joined (a concat is cheaper than slicing a shared mask per block).
        const ownStart = block.keys - rows;
        const own = tf.add<tf.Tensor3D>(
          scoresAgainst(qBlock, ownStart, block.keys),
          causalMasks.get(rows) as tf.Tensor3D,
        );
        scores =
          ownStart === 0
            ? own
            : (tf.concat([scoresAgainst(qBlock, 0, ownStart), own], 2) as tf.Tensor3D);
      } else {
        scores = scoresAgainst(qBlock, 0, block.keys);
      }
      if (masks) {
        const bias = sliceColumns(masks.keyBias, 0, block.keys);
        scores = tf.add(scores, broadcastColumns(bias, rows, variant));
      }
      let probabilities = softmax(scores, variant);
      if (masks) {
        // A query that sees no visible key: every score is MASKED, and softmax would spread
        // its weight over the invisible keys. Zero its row instead (output 0, no gradient).
        const seen = sliceRows(masks.seen, block.start, block.end);
        probabilities = tf.mul(probabilities, broadcastRows(seen, block.keys, variant));
      }
      return [probabilities, tf.matMul<tf.Tensor3D>(probabilities, sliceRows(v, 0, block.keys))];
    });
    outputs.push(output);
    if (keepProbabilities) probabilities.push(p);
    else p.dispose();
  }
  const y = (outputs.length === 1 ? outputs[0] : tf.concat(outputs, 1)) as tf.Tensor3D;
  return { y: tf.reshape(y, [batch, queries, valueDepth]), scaledQ, probabilities };
}

/**
 * From the 0/1 key mask [N, L]: the additive key bias [N, 1, L] (0 visible, MASKED hidden) and,
 * per query, whether it sees at least one visible key ([N, Lq, 1] of 0/1): any visible key, or
 * when causal any visible key at or before its position.
 */
function keyMaskTerms(
  visible: tf.Tensor2D,
  queries: number,
  causal: boolean,
): { keyBias: tf.Tensor3D; seen: tf.Tensor3D } {
  const [batch, keys] = visible.shape;
  return tf.tidy(() => {
    const bias = tf.reshape(tf.mul(tf.sub(1, visible), MASKED), [batch, 1, keys]) as tf.Tensor3D;
    let rows: tf.Tensor;
    if (causal) {
      // Query i sees keys up to L − Lq + i: the running count of visible keys at those keys.
      const counts = tf.slice(tf.cumsum(visible, 1), [0, keys - queries], [batch, queries]);
      rows = tf.cast(tf.greater(counts, 0), 'float32');
    } else {
      rows = tf.tile(tf.max(visible, 1, true), [1, queries]);
    }
    return { keyBias: bias, seen: tf.reshape(rows, [batch, queries, 1]) as tf.Tensor3D };
  });
}

/**
 * With g = dy and δ_i = Σ_d g_id y_id (the FlashAttention identity: an O(L·d) row sum instead
 * of an [L, L] product):
 *   dP = g·vᵀ,  dS = P ⊙ (dP − δ),  dq = dS·k/√d,  dk = dSᵀ·q/√d,  dv = Pᵀ·g.
 * Rows of P zeroed for queries without visible keys give dS = 0 there, as they should. With
 * explicit transposes dk and dv are formed transposed (dkᵀ = (q/√d)ᵀ·dS, dvᵀ = gᵀ·P), so that
 * no [L, L] matrix is ever transposed; each query block adds to the keys it sees.
 */
function backward(
  dy: tf.Tensor3D,
  saved: tf.Tensor3D[],
  blocks: QueryBlock[],
  variant: SoftmaxVariant,
): tf.Tensor3D[] {
  const [scaledQ, k, v, y, ...probabilities] = saved;
  const [batch, queries, depth] = scaledQ.shape;
  const keyCount = k.shape[1];
  const valueDepth = v.shape[2];
  const explicit = variant.transposes === 'explicit';
  const delta = tf.sum(tf.mul(dy, y), 2, true) as tf.Tensor3D;
  const valuesT = explicit ? transposeLast(v) : null;
  const queriesT = explicit ? transposeLast(scaledQ) : null;
  const dyT = explicit ? transposeLast(dy) : null;
  const dqBlocks: tf.Tensor3D[] = [];
  // Running sums over the blocks of dkᵀ, dvᵀ [N, d, L] (explicit) or dk, dv [N, L, d] (flags).
  let dk: tf.Tensor3D | null = null;
  let dv: tf.Tensor3D | null = null;
  const accumulate = (sum: tf.Tensor3D | null, part: tf.Tensor3D): tf.Tensor3D => {
    if (sum === null) return part;
    const next = tf.add<tf.Tensor3D>(sum, part);
    tf.dispose([sum, part]);
    return next;
  };
  blocks.forEach((block, index) => {
    const [dqBlock, dkPart, dvPart] = tf.tidy((): tf.Tensor3D[] => {
      const p = probabilities[index];
      const dyBlock = sliceRows(dy, block.start, block.end);
      const dp = valuesT
        ? tf.matMul<tf.Tensor3D>(dyBlock, sliceColumns(valuesT, 0, block.keys))
        : tf.matMul<tf.Tensor3D>(dyBlock, sliceRows(v, 0, block.keys), false, true);
      const rowDelta = broadcastRows(sliceRows(delta, block.start, block.end), block.keys, variant);
      const ds = tf.mul<tf.Tensor3D>(p, tf.sub(dp, rowDelta));
      const dqPart = tf.matMul<tf.Tensor3D>(ds, sliceRows(k, 0, block.keys));
      if (queriesT && dyT) {
        // [N, d, keys], zero-padded to all L keys along the last axis.
        const pad = (x: tf.Tensor3D) => padAxis(x, 2, keyCount - block.keys);
        return [
          dqPart,
          pad(tf.matMul<tf.Tensor3D>(sliceColumns(queriesT, block.start, block.end), ds)),
          pad(tf.matMul<tf.Tensor3D>(sliceColumns(dyT, block.start, block.end), p)),
        ];
      }
      // [N, keys, d], zero-padded to all L keys along the rows.
      const pad = (x: tf.Tensor3D) => padAxis(x, 1, keyCount - block.keys);
      return [
        dqPart,
        pad(tf.matMul<tf.Tensor3D>(ds, sliceRows(scaledQ, block.start, block.end), true, false)),
        pad(tf.matMul<tf.Tensor3D>(p, dyBlock, true, false)),
      ];
    });
    dqBlocks.push(dqBlock);
    dk = accumulate(dk, dkPart);
    dv = accumulate(dv, dvPart);
  });
  const dq = tf.mul(
    dqBlocks.length === 1 ? dqBlocks[0] : tf.concat(dqBlocks, 1),
    1 / Math.sqrt(depth),
  );
  if (dk === null || dv === null) throw new Error('softmaxAttention: needs at least one query');
  if (explicit) [dk, dv] = [transposeLast(dk), transposeLast(dv)];
  return [
    tf.reshape(dq, [batch, queries, depth]),
    tf.reshape(dk, [batch, keyCount, depth]),
    tf.reshape(dv, [batch, keyCount, valueDepth]),
  ] as tf.Tensor3D[];
}

/** Softmax over the last axis: tfjs's kernel, or the same arithmetic with matMul broadcasts. */
function softmax(scores: tf.Tensor3D, variant: SoftmaxVariant): tf.Tensor3D {
  if (variant.rowBroadcast === 'native') return tf.softmax(scores);
  const width = scores.shape[2];
  const exponentials = tf.exp(
    tf.sub(scores, broadcastRows(tf.max(scores, 2, true), width, variant)),
  );
  const inverseTotals = tf.reciprocal(tf.sum(exponentials, 2, true)) as tf.Tensor3D;
  return tf.mul(exponentials, broadcastRows(inverseTotals, width, variant));
}

/** A per-row column [N, R, 1], ready to combine with an [N, R, width] matrix. */
function broadcastRows(column: tf.Tensor3D, width: number, variant: SoftmaxVariant): tf.Tensor3D {
  if (variant.rowBroadcast === 'native') return column;
  return tf.matMul<tf.Tensor3D>(column, tf.ones([1, 1, width]) as tf.Tensor3D);
}

/** A per-key row [N, 1, W], ready to combine with an [N, height, W] matrix. */
function broadcastColumns(row: tf.Tensor3D, height: number, variant: SoftmaxVariant): tf.Tensor3D {
  if (variant.rowBroadcast === 'native' || height === 1) return row;
  return tf.matMul<tf.Tensor3D>(tf.ones([1, height, 1]) as tf.Tensor3D, row);
}

function padAxis(x: tf.Tensor3D, axis: 1 | 2, after: number): tf.Tensor3D {
  if (after === 0) return x;
  const paddings: Array<[number, number]> = [
    [0, 0],
    [0, 0],
    [0, 0],
  ];
  paddings[axis] = [0, after];
  return tf.pad(x, paddings);
}

function transposeLast(x: tf.Tensor3D): tf.Tensor3D {
  return tf.transpose(x, [0, 2, 1]);
}

function sliceRows(x: tf.Tensor3D, start: number, end: number): tf.Tensor3D {
  if (start === 0 && end === x.shape[1]) return x;
  return tf.slice(x, [0, start, 0], [x.shape[0], end - start, x.shape[2]]);
}

function sliceColumns(x: tf.Tensor3D, start: number, end: number): tf.Tensor3D {
  if (start === 0 && end === x.shape[2]) return x;
  return tf.slice(x, [0, 0, start], [x.shape[0], x.shape[1], end - start]);
}

/** Most causal masks kept at once; each holds size² floats (1 MiB at 512 rows). */
const MASK_CACHE_LIMIT = 16;
const maskCache = new Map<number, Float32Array>();

/**
 * The additive causal mask of `size` queries against their own `size` keys, [1, size, size]: a
 * new tensor (the caller's scope frees it), from cached values in `'cached'` mode.
 */
function causalMask(size: number, mode: SoftmaxVariant['mask']): tf.Tensor3D {
  let values = mode === 'cached' ? maskCache.get(size) : undefined;
  if (values === undefined) {
    values = new Float32Array(size * size);
    for (let r = 0; r < size - 1; r++) values.fill(MASKED, r * size + r + 1, (r + 1) * size);
    if (mode === 'cached') {
      if (maskCache.size >= MASK_CACHE_LIMIT) {
        maskCache.delete(maskCache.keys().next().value as number);
      }
      maskCache.set(size, values);
    }
  }
  return tf.tensor3d(values, [1, size, size]);
}

/** Frees the cached causal mask values (they are otherwise kept for the life of the process). */
export function clearSoftmaxMaskCache(): void {
  maskCache.clear();
}
