import { eaBackward, eaForward } from '@elementwise/math';
import { beforeAll, describe, expect, it } from 'vitest';
import { seriesSimd, simdCallCounts, simdLoaded, type WasmHeap } from '../src/simd/series_simd.js';
import { wasmHeap } from '../src/wasm_heap.js';
import { type Case, describeCase, expectClose, makeCaseData, useBackend } from './helpers.js';

/**
 * The SIMD forward and backward must write their outputs and their scratch and nothing else.
 * Here every input, every output and the scratch of one call lie in one block, separated by
 * gaps filled with a NaN bit pattern, and the kernels are called directly: on the tfjs wasm
 * heap (in place, the scratch handed out by a stand-in allocator from the block) and on
 * copies (channels not a multiple of 4, or arrays outside any tfjs heap). After each call every
 * gap must be intact, and the outputs, prefilled with NaN so an element left unwritten shows,
 * must match the float64 oracle.
 */

const GAP_BYTES = 32;
/** A negative signalling-NaN bit pattern: float arithmetic never produces it. */
const GAP_WORD = 0xffa5_5a5a;
/** Prefill of the outputs: NaN, so an output element the kernel leaves unwritten is caught. */
const UNWRITTEN = Number.NaN;

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** Where each region of a block starts, and the gaps around them, as byte offsets from `base`. */
interface Layout {
  at: Record<string, number>;
  gaps: { after: string; at: number }[];
  bytes: number;
}

function layOut(regions: [name: string, bytes: number][]): Layout {
  const at: Record<string, number> = {};
  const gaps = [{ after: '(start)', at: 0 }];
  let offset = GAP_BYTES;
  for (const [name, bytes] of regions) {
    at[name] = offset;
    offset = align16(offset + bytes);
    gaps.push({ after: name, at: offset });
    offset += GAP_BYTES;
  }
  return { at, gaps, bytes: offset };
}

function fillGaps(buffer: ArrayBufferLike, base: number, layout: Layout): void {
  const words = new Uint32Array(buffer);
  for (const gap of layout.gaps) {
    words.fill(GAP_WORD, (base + gap.at) >>> 2, (base + gap.at + GAP_BYTES) >>> 2);
  }
}

function expectGapsIntact(buffer: ArrayBufferLike, base: number, layout: Layout, what: string) {
  const words = new Uint32Array(buffer);
  for (const gap of layout.gaps) {
    for (let i = (base + gap.at) >>> 2; i < (base + gap.at + GAP_BYTES) >>> 2; i++) {
      if (words[i] !== GAP_WORD) {
        throw new Error(
          `${what}: the gap after '${gap.after}' was overwritten (word ${i - ((base + gap.at) >>> 2)} is 0x${words[i].toString(16)})`,
        );
      }
    }
  }
}

/** All inputs of a call (defaults made explicit, as the kernel contract passes them). */
function fullInputs(c: Case) {
  const data = makeCaseData(c, 7 + c.keys + c.channels);
  const terms = (c.order as number) + 1;
  const stateSize = c.batch * terms * c.channels;
  const zeros = () => new Float32Array(stateSize);
  return {
    q: data.q,
    k: data.k,
    v: data.v,
    mask: data.mask ?? new Float32Array(c.batch * c.keys).fill(1),
    initialS: data.s0 ?? zeros(),
    initialZ: data.z0 ?? zeros(),
    dy: data.dy,
    dFinalS: data.dS ?? zeros(),
    dFinalZ: data.dZ ?? zeros(),
  };
}

type Where = 'tfjs heap' | 'copies of heap views' | 'copies of plain arrays';

/**
 * Memory for one call: a block of the tfjs heap (or of a plain ArrayBuffer), holding every
 * array and, on the heap, room for the scratch, with gaps between them. `memory()` is read
 * after every allocation: growing the heap detaches earlier buffers.
 */
interface Arena {
  buffer(): ArrayBufferLike;
  base: number;
  release(): void;
}

function arenaOn(where: Where, bytes: number): Arena {
  if (where === 'copies of plain arrays') {
    const buffer = new ArrayBuffer(bytes + 16);
    return { buffer: () => buffer, base: 0, release: () => {} };
  }
  const heap = wasmHeap() as WasmHeap;
  const raw = heap.malloc(bytes + 16);
  expect(raw, 'test block allocation').not.toBe(0);
  return { buffer: () => heap.memory.buffer, base: align16(raw), release: () => heap.free(raw) };
}

/**
 * Runs the forward or backward once on `where`; returns the outputs (copied out) after checking
 * every gap. The scratch size is first learnt from an allocation the stand-in allocator refuses
 * (the kernel then writes nothing), then the call runs with the scratch inside the block.
 */
function callInBlock(
  pass: 'forward' | 'backward',
  c: Case,
  where: Where,
  read: Record<string, Float32Array>,
  written: Record<string, number>,
): Record<string, Float32Array> {
  const simd = seriesSimd();
  if (simd == null) throw new Error('the SIMD build did not load');
  const sizes = { batch: c.batch, queries: c.queries, keys: c.keys, channels: c.channels };
  const attrs = { order: c.order as number, causal: c.causal };
  const tfjsHeap = where === 'copies of plain arrays' ? null : (wasmHeap() as WasmHeap);
  const arrays: [string, number][] = [
    ...Object.entries(read).map(([name, values]): [string, number] => [name, values.length]),
    ...Object.entries(written),
  ];

  const invoke = (views: Record<string, Float32Array>, heap: WasmHeap | null) => {
    const { q, k, v, mask, initialS, initialZ, dy, dFinalS, dFinalZ } = views;
    const inputs = { q, k, v, mask, initialS, initialZ, ...sizes, ...attrs };
    if (pass === 'forward') {
      const { y, finalS, finalZ } = views;
      return simd.forward({ ...inputs, y, finalS, finalZ }, heap);
    }
    const { dq, dk, dv, dInitialS, dInitialZ } = views;
    const gradients = { dy, dFinalS, dFinalZ, dq, dk, dv, dInitialS, dInitialZ };
    return simd.backward({ ...inputs, ...gradients }, heap);
  };

  const prepare = (scratchBytes: number) => {
    const regions: [string, number][] = arrays.map(([name, length]) => [name, length * 4]);
    if (scratchBytes > 0) regions.push(['scratch', scratchBytes]);
    const layout = layOut(regions);
    const arena = arenaOn(where, layout.bytes);
    const buffer = arena.buffer();
    fillGaps(buffer, arena.base, layout);
    const views: Record<string, Float32Array> = {};
    for (const [name, length] of arrays) {
      views[name] = new Float32Array(buffer, arena.base + layout.at[name], length);
      if (name in read) views[name].set(read[name]);
      else views[name].fill(UNWRITTEN);
    }
    return { layout, arena, views };
  };

  // Learn the scratch size: the stand-in allocator records the request and refuses it.
  let scratchBytes = 0;
  if (where === 'tfjs heap') {
    const probe = prepare(0);
    const refusing: WasmHeap = {
      memory: (tfjsHeap as WasmHeap).memory,
      malloc: (bytes) => {
        scratchBytes = bytes;
        return 0;
      },
      free: () => {
        throw new Error('free without a successful malloc');
      },
    };
    try {
      expect(invoke(probe.views, refusing), 'a call without scratch reports it').toBe(false);
      expect(scratchBytes, 'scratch bytes requested').toBeGreaterThan(0);
      for (const name of Object.keys(written)) {
        expect(
          probe.views[name].every(Number.isNaN),
          `${name} untouched when the scratch was refused`,
        ).toBe(true);
      }
      expectGapsIntact(probe.arena.buffer(), probe.arena.base, probe.layout, 'refused call');
    } finally {
      probe.arena.release();
    }
  }

  const { layout, arena, views } = prepare(scratchBytes);
  try {
    let handedOut = 0;
    const scratchAt = arena.base + (layout.at.scratch ?? 0);
    const standIn: WasmHeap | null =
      tfjsHeap == null
        ? null
        : {
            memory: tfjsHeap.memory,
            malloc: (bytes) => {
              if (where !== 'tfjs heap')
                throw new Error('the copy path allocated on the tfjs heap');
              if (bytes !== scratchBytes) throw new Error(`scratch of ${bytes} bytes requested`);
              handedOut++;
              return scratchAt;
            },
            free: (pointer) => {
              if (pointer !== scratchAt) throw new Error(`free(${pointer}) of a foreign pointer`);
              handedOut--;
            },
          };
    const before = simdCallCounts();
    expect(invoke(views, standIn), 'the call ran').toBe(true);
    const after = simdCallCounts();
    expect(handedOut, 'scratch freed').toBe(0);
    expect(after.recomputed - before.recomputed, 'no float64 recomputation').toBe(0);
    const path = where === 'tfjs heap' ? 'onHeap' : 'copied';
    expect(after[path] - before[path], `ran ${path}`).toBe(1);
    expectGapsIntact(arena.buffer(), arena.base, layout, `${pass} on ${where}, ${describeCase(c)}`);
    return Object.fromEntries(Object.keys(written).map((name) => [name, views[name].slice()]));
  } finally {
    arena.release();
  }
}

function checkCase(c: Case, where: Where): void {
  const order = c.order as number;
  const terms = order + 1;
  const x = fullInputs(c);
  const stateSize = c.batch * terms * c.channels;
  const querySize = c.batch * c.queries * c.channels;
  const keySize = c.batch * c.keys * c.channels;
  const forwardInputs = {
    q: x.q,
    k: x.k,
    v: x.v,
    mask: x.mask,
    initialS: x.initialS,
    initialZ: x.initialZ,
  };
  const forward = callInBlock('forward', c, where, forwardInputs, {
    y: querySize,
    finalS: stateSize,
    finalZ: stateSize,
  });
  const backward = callInBlock(
    'backward',
    c,
    where,
    { ...forwardInputs, dy: x.dy, dFinalS: x.dFinalS, dFinalZ: x.dFinalZ },
    { dq: querySize, dk: keySize, dv: keySize, dInitialS: stateSize, dInitialZ: stateSize },
  );

  const inputs = {
    q: x.q,
    k: x.k,
    v: x.v,
    mask: x.mask,
    dims: { batch: c.batch, queryLength: c.queries, keyLength: c.keys, channels: c.channels },
  };
  const initialState = { s: x.initialS, z: x.initialZ };
  const options = { order, causal: c.causal, initialState };
  const oracle = eaForward(inputs, { ...options, returnFinalState: true });
  const gradients = eaBackward(inputs, x.dy, {
    ...options,
    dFinalState: { s: x.dFinalS, z: x.dFinalZ },
  });
  const state = oracle.finalState as { s: Float64Array; z: Float64Array };
  const dState = gradients.dInitialState as { s: Float64Array; z: Float64Array };
  expectClose(forward.y, oracle.y, 'y');
  expectClose(forward.finalS, state.s, 'finalS');
  expectClose(forward.finalZ, state.z, 'finalZ');
  expectClose(backward.dq, gradients.dq, 'dq');
  expectClose(backward.dk, gradients.dk, 'dk');
  expectClose(backward.dv, gradients.dv, 'dv');
  expectClose(backward.dInitialS, dState.s, 'dInitialS');
  expectClose(backward.dInitialZ, dState.z, 'dInitialZ');
}

const both = { masked: true, withState: true };

const IN_PLACE: Case[] = [
  { batch: 1, queries: 1, keys: 1, channels: 4, order: 0, causal: true },
  { batch: 1, queries: 1, keys: 1, channels: 8, order: 6, causal: false, withState: true },
  { batch: 2, queries: 7, keys: 7, channels: 8, order: 2, causal: false, masked: true },
  { batch: 2, queries: 5, keys: 9, channels: 12, order: 6, causal: false, ...both },
  { batch: 3, queries: 33, keys: 33, channels: 8, order: 8, causal: true, ...both },
  { batch: 1, queries: 17, keys: 17, channels: 12, order: 0, causal: true, withState: true },
  // More than one 1024-key block: the causal backward replays from its checkpoints.
  { batch: 2, queries: 2085, keys: 2085, channels: 4, order: 6, causal: true, ...both },
];

const ON_COPIES: [Case, Where][] = [
  [{ batch: 1, queries: 1, keys: 1, channels: 3, order: 0, causal: true }, 'copies of heap views'],
  [
    { batch: 2, queries: 13, keys: 13, channels: 6, order: 6, causal: true, ...both },
    'copies of heap views',
  ],
  [
    { batch: 2, queries: 3, keys: 10, channels: 5, order: 2, causal: false, masked: true },
    'copies of heap views',
  ],
  [
    { batch: 1, queries: 1100, keys: 1100, channels: 7, order: 8, causal: true, withState: true },
    'copies of heap views',
  ],
  [
    { batch: 2, queries: 19, keys: 19, channels: 8, order: 6, causal: true, ...both },
    'copies of plain arrays',
  ],
  [
    { batch: 1, queries: 4, keys: 11, channels: 6, order: 2, causal: false, withState: true },
    'copies of plain arrays',
  ],
];

describe('SIMD kernels write only their outputs and scratch', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    await simdLoaded();
  });

  for (const c of IN_PLACE) {
    it(`in place on the tfjs wasm heap: ${describeCase(c)}`, () => checkCase(c, 'tfjs heap'));
  }
  for (const [c, where] of ON_COPIES) {
    it(`on ${where}: ${describeCase(c)}`, () => checkCase(c, where));
  }

  it("the kernels' own guard bytes catch a write past a region (copies, one query too many)", () => {
    const simd = seriesSimd();
    if (simd == null) throw new Error('the SIMD build did not load');
    const [keys, channels, terms] = [6, 8, 3];
    const rows = (n: number) => new Float32Array(n * channels).fill(0.25);
    const state = () => new Float32Array(terms * channels);
    const inputs = {
      q: rows(keys),
      k: rows(keys),
      v: rows(keys),
      mask: new Float32Array(keys).fill(1),
      initialS: state(),
      initialZ: state(),
    };
    const out = { y: rows(keys), finalS: state(), finalZ: state() };
    // The arrays hold `keys` queries; the record claims one more, so y's last row is written
    // past its region, over the guard bytes that follow it.
    const sizes = { batch: 1, queries: keys + 1, keys, channels };
    const call = { ...inputs, ...out, ...sizes, order: terms - 1, causal: false };
    expect(() => simd.forward(call, null)).toThrow(
      /^ElementwiseAttentionForward \(WebAssembly SIMD, on copies\): internal error, the kernel wrote outside its memory \(guard bytes at byte \d+ overwritten\) for B=1, Lq=7, L=6, D=8, order 2/,
    );
  });
});
