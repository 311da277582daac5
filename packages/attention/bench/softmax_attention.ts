import * as tf from '@tensorflow/tfjs-core';

/**
 * Softmax self-attention (the paper's SA baseline), written for speed on tfjs's CPU-class
 * backends so that EA is compared against the best plain-tfjs formulation, not a strawman.
 *
 * Single head over the full width D: `S = q·kᵀ/√D` [B, L, L], an additive causal mask,
 * `P = softmax(S)` over keys, `y = P·v`.
 *
 * Each way of writing it that the benchmark compares is a {@link SoftmaxVariant}. The knobs are
 * the ones that matter in tfjs 4.22 (measured by softmax_variants.ts, results in BENCHMARKS.md):
 *
 * - `transposes`: on `wasm`, `matMul` with a transpose flag leaves XNNPACK for a slow generic
 *   loop (~10× slower), so `'explicit'` transposes [L, D]-sized operands up front and never an
 *   [L, L] one (that transpose alone costs more than a matMul). On `cpu` the flags are free and
 *   slicing a transposed operand's columns is slow, so `'flags'` suits it.
 * - `gradient`: tfjs's built-in matMul gradients use the transpose flags; `'custom'` registers
 *   an explicit backward through `tf.customGrad`.
 * - `mask`: the causal mask is built once per size and cached, or rebuilt on every call.
 * - `queryBlocks`: 1 computes the full [L, L] score matrix; n > 1 splits the queries into n row
 *   blocks, and each block multiplies only against the keys it can see, skipping most of the
 *   masked upper triangle (about (n+1)/2n of the dense work and saved memory).
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
  /** Query i sees keys j <= i. Default true. */
  causal?: boolean;
  /** Default: {@link fastestSoftmaxVariant} for the active backend and length. */
  variant?: SoftmaxVariant;
}

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

export function describeVariant(variant: SoftmaxVariant): string {
  const layout = variant.queryBlocks > 1 ? `${variant.queryBlocks} query blocks` : 'dense [L,L]';
  const broadcast = variant.rowBroadcast === 'matmul' ? ', outer-product row broadcast' : '';
  return `${layout}, ${variant.transposes} transposes, ${variant.gradient} gradient, ${variant.mask} mask${broadcast}`;
}

/** y [B, L, D] = softmax(q·kᵀ/√D + causal mask)·v for q, k, v [B, L, D]. */
export function softmaxAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  options: SoftmaxAttentionOptions = {},
): tf.Tensor3D {
  const causal = options.causal ?? true;
  const length = q.shape[1];
  const variant = options.variant ?? fastestSoftmaxVariant(tf.getBackend(), length);
  const blocks = planBlocks(length, causal ? variant.queryBlocks : 1, causal);
  if (variant.gradient === 'autodiff') {
    return tf.tidy(() => forward(q, k, v, blocks, variant, false).y);
  }
  // Only a pass that backpropagates needs the probabilities; inference frees each block's at once.
  // tfjs has no public "is a gradient being recorded" query; its engine state says so.
  const recording = tf.engine().state.gradientDepth > 0;
  const attend = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qIn, kIn, vIn] = args as tf.Tensor3D[];
    const save = args[3] as tf.GradSaveFunc;
    const pass = forward(qIn, kIn, vIn, blocks, variant, recording);
    save([pass.scaledQ, kIn, vIn, pass.y, ...pass.probabilities]);
    return {
      value: pass.y,
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) =>
        backward(dy, saved as tf.Tensor3D[], blocks, variant),
    };
  });
  return attend(q, k, v) as tf.Tensor3D;
}

/**
 * One block of queries, rows [start, end). Causal: it sees keys [0, end), of which
 * [start, end) — its own positions — need the triangular mask. Otherwise it sees all keys.
 */
interface QueryBlock {
  start: number;
  end: number;
  keys: number;
  causal: boolean;
}

function planBlocks(length: number, count: number, causal: boolean): QueryBlock[] {
  const size = Math.ceil(length / Math.max(1, Math.min(count, length)));
  const blocks: QueryBlock[] = [];
  for (let start = 0; start < length; start += size) {
    const end = Math.min(length, start + size);
    blocks.push({ start, end, keys: causal ? end : length, causal });
  }
  return blocks;
}

interface ForwardPass {
  y: tf.Tensor3D;
  /** q/√D [B, L, D]: scaling [L, D] queries is cheaper than scaling [L, L] scores. */
  scaledQ: tf.Tensor3D;
  /** Softmax probabilities per query block, [B, rows, keys]. */
  probabilities: tf.Tensor3D[];
}

function forward(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  blocks: QueryBlock[],
  variant: SoftmaxVariant,
  keepProbabilities: boolean,
): ForwardPass {
  const [batch, length, channels] = q.shape;
  const scaledQ = tf.mul(q, 1 / Math.sqrt(channels)) as tf.Tensor3D;
  const keysT = variant.transposes === 'explicit' ? transposeLast(k) : null;
  /** Scores of a block's queries against keys [from, to): [B, rows, to − from]. */
  const scoresAgainst = (qBlock: tf.Tensor3D, from: number, to: number): tf.Tensor3D =>
    keysT
      ? tf.matMul<tf.Tensor3D>(qBlock, sliceColumns(keysT, from, to))
      : tf.matMul<tf.Tensor3D>(qBlock, sliceRows(k, from, to), false, true);
  const outputs: tf.Tensor3D[] = [];
  const probabilities: tf.Tensor3D[] = [];
  for (const block of blocks) {
    // One scope per block, so that only its probabilities and output outlive it: peak memory is
    // then the saved probabilities plus one block's scratch, not every block's.
    const [p, output] = tf.tidy(() => {
      const qBlock = sliceRows(scaledQ, block.start, block.end);
      let scores: tf.Tensor3D;
      if (block.causal) {
        // Only the block's own keys need the mask; the earlier ones are all visible, so they are
        // scored apart and joined (a concat is cheaper than slicing a shared mask per block).
        const own = tf.add<tf.Tensor3D>(
          scoresAgainst(qBlock, block.start, block.end),
          causalMask(block.end - block.start, variant.mask),
        );
        scores =
          block.start === 0
            ? own
            : (tf.concat([scoresAgainst(qBlock, 0, block.start), own], 2) as tf.Tensor3D);
      } else {
        scores = scoresAgainst(qBlock, 0, length);
      }
      const probabilities = softmax(scores, variant);
      return [probabilities, tf.matMul<tf.Tensor3D>(probabilities, sliceRows(v, 0, block.keys))];
    });
    outputs.push(output);
    if (keepProbabilities) probabilities.push(p);
    else p.dispose();
  }
  const y = (outputs.length === 1 ? outputs[0] : tf.concat(outputs, 1)) as tf.Tensor3D;
  return { y: tf.reshape(y, [batch, length, channels]), scaledQ, probabilities };
}

/**
 * With g = dy and δ_i = Σ_j P_ij dP_ij = Σ_d g_id y_id (the FlashAttention identity: an O(L·D)
 * row sum instead of an [L, L] product):
 *   dP = g·vᵀ,  dS = P ⊙ (dP − δ),  dq = dS·k/√D,  dk = dSᵀ·q/√D,  dv = Pᵀ·g.
 * With explicit transposes dk and dv are formed transposed (dkᵀ = (q/√D)ᵀ·dS, dvᵀ = gᵀ·P), so
 * that no [L, L] matrix is ever transposed; each query block adds to the keys it sees.
 */
function backward(
  dy: tf.Tensor3D,
  saved: tf.Tensor3D[],
  blocks: QueryBlock[],
  variant: SoftmaxVariant,
): tf.Tensor3D[] {
  const [scaledQ, k, v, y, ...probabilities] = saved;
  const [batch, length, channels] = scaledQ.shape;
  const explicit = variant.transposes === 'explicit';
  const delta = tf.sum(tf.mul(dy, y), 2, true) as tf.Tensor3D;
  const valuesT = explicit ? transposeLast(v) : null;
  const queriesT = explicit ? transposeLast(scaledQ) : null;
  const dyT = explicit ? transposeLast(dy) : null;
  const dqBlocks: tf.Tensor3D[] = [];
  // Running sums over the blocks of dkᵀ, dvᵀ [B, D, L] (explicit) or dk, dv [B, L, D] (flags).
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
        // [B, D, keys], zero-padded to all L keys along the last axis.
        const pad = (x: tf.Tensor3D) => padAxis(x, 2, length - block.keys);
        return [
          dqPart,
          pad(tf.matMul<tf.Tensor3D>(sliceColumns(queriesT, block.start, block.end), ds)),
          pad(tf.matMul<tf.Tensor3D>(sliceColumns(dyT, block.start, block.end), p)),
        ];
      }
      // [B, keys, D], zero-padded to all L keys along the rows.
      const pad = (x: tf.Tensor3D) => padAxis(x, 1, length - block.keys);
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
    1 / Math.sqrt(channels),
  );
  if (dk === null || dv === null) throw new Error('softmax attention needs at least one query');
  if (explicit) [dk, dv] = [transposeLast(dk), transposeLast(dv)];
  return [dq, dk, dv].map((x) => tf.reshape(x, [batch, length, channels]) as tf.Tensor3D);
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

/** A per-row column [B, R, 1], ready to combine with a [B, R, width] matrix. */
function broadcastRows(column: tf.Tensor3D, width: number, variant: SoftmaxVariant): tf.Tensor3D {
  if (variant.rowBroadcast === 'native') return column;
  return tf.matMul<tf.Tensor3D>(column, tf.ones([1, 1, width]) as tf.Tensor3D);
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

const maskCache = new Map<string, tf.Tensor3D>();

/** The additive causal mask of `size` queries against their own `size` keys, [1, size, size]. */
function causalMask(size: number, mode: SoftmaxVariant['mask']): tf.Tensor3D {
  const key = `${tf.getBackend()}:${size}`;
  const cached = mode === 'cached' ? maskCache.get(key) : undefined;
  if (cached && !cached.isDisposed) return cached;
  const values = new Float32Array(size * size);
  for (let r = 0; r < size - 1; r++) values.fill(MASKED, r * size + r + 1, (r + 1) * size);
  const mask = tf.tensor3d(values, [1, size, size]);
  if (mode === 'cached') maskCache.set(key, tf.keep(mask));
  return mask;
}

/** Frees the cached causal masks (they are otherwise kept for the life of the process). */
export function clearSoftmaxMaskCache(): void {
  for (const mask of maskCache.values()) mask.dispose();
  maskCache.clear();
}
