import { kernelRecordFields } from '@elementwise/attention';
import { describe, expect, it } from 'vitest';
import { EA_SERIES_WASM } from '../src/generated/ea_series_wasm.js';
import type { ForwardRecord } from '../src/maths/records.js';
import {
  BACKWARD_RECORD,
  checkRecordLayouts,
  EXP_RECORD,
  FORWARD_RECORD,
  layoutDifferences,
  type RecordLayout,
  writeRecord,
} from '../src/simd/kernel_records.js';
import { seriesSimd } from '../src/simd/series_simd.js';

/**
 * The parameter records between TypeScript and the WebAssembly module: the module's own field
 * offsets (exported by the build from assembly/records.ts) agree with the TypeScript table, a
 * table that drifts from them is reported field by field, and a record missing a field or
 * carrying a misnamed one is refused with the field's name.
 */

function moduleExports(): Record<string, unknown> {
  const bytes = Uint8Array.from(atob(EA_SERIES_WASM), (c) => c.charCodeAt(0));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return instance.exports as Record<string, unknown>;
}

/** `layout` with its field `from` renamed to `to`, at the same place. */
function renamed(layout: RecordLayout, from: string, to: string): RecordLayout {
  const rename = <T>(entries: Record<string, T>) =>
    Object.fromEntries(Object.entries(entries).map(([name, x]) => [name === from ? to : name, x]));
  return { ...layout, roles: rename(layout.roles), offsets: rename(layout.offsets) };
}

const FORWARD_VALUES: Record<string, number> = {
  q: 16,
  k: 32,
  v: 48,
  mask: 64,
  initialS: 80,
  initialZ: 96,
  y: 112,
  finalS: 128,
  finalZ: 144,
  batch: 1,
  queries: 2,
  keys: 2,
  channels: 4,
  order: 2,
  causal: 1,
  scratch: 160,
};

describe('parameter records of the WebAssembly module', () => {
  it('the module and the TypeScript table agree on every field of every record', () => {
    const exports = moduleExports();
    for (const layout of [FORWARD_RECORD, BACKWARD_RECORD, EXP_RECORD]) {
      expect(layoutDifferences(exports, layout), layout.name).toEqual([]);
    }
    expect(() => checkRecordLayouts(exports)).not.toThrow();
  });

  it("the records carry the contract's fields (kernelRecordFields), plus the module's scratch", () => {
    for (const [form, layout] of [
      ['forward', FORWARD_RECORD],
      ['backward', BACKWARD_RECORD],
    ] as const) {
      const fields = Object.keys(layout.offsets).filter((field) => field !== 'scratch');
      expect(fields.sort(), layout.name).toEqual(kernelRecordFields(form).sort());
    }
  });

  it('a table that drifts from the module is reported, naming each field', () => {
    const exports = moduleExports();
    expect(layoutDifferences(exports, renamed(FORWARD_RECORD, 'queries', 'query'))).toEqual([
      "ForwardRecord.query is missing from the module's record",
      "ForwardRecord.queries is in the module's record, not in the table",
    ]);
    const { q, k } = FORWARD_RECORD.offsets;
    const swapped = { ...FORWARD_RECORD, offsets: { ...FORWARD_RECORD.offsets, q: k, k: q } };
    expect(layoutDifferences(exports, swapped)).toEqual([
      `ForwardRecord.q is at byte ${q} in the module, ${k} in the table`,
      `ForwardRecord.k is at byte ${k} in the module, ${q} in the table`,
    ]);
    expect(() => checkRecordLayouts(exports, [swapped])).toThrow(
      /WebAssembly SIMD module .* disagree: ForwardRecord\.q is at byte/,
    );
  });

  it('writes every field at its offset, by name', () => {
    const buffer = new ArrayBuffer(256);
    writeRecord(buffer, 64, FORWARD_RECORD, FORWARD_VALUES);
    const words = new Uint32Array(buffer, 64, FORWARD_RECORD.bytes / 4);
    for (const [name, offset] of Object.entries(FORWARD_RECORD.offsets)) {
      expect(words[offset / 4], name).toBe(FORWARD_VALUES[name]);
    }
  });

  it('refuses a record with a field missing or misnamed, naming the field', () => {
    const buffer = new ArrayBuffer(256);
    const { mask: _, ...withoutMask } = FORWARD_VALUES;
    expect(() => writeRecord(buffer, 0, FORWARD_RECORD, withoutMask)).toThrow(
      "ForwardRecord: field 'mask' is missing",
    );
    const { queries, ...rest } = FORWARD_VALUES;
    expect(() => writeRecord(buffer, 0, FORWARD_RECORD, { ...rest, query: queries })).toThrow(
      /^ForwardRecord: no field 'query' in the record \(its fields: q, k, v, mask, /,
    );
    expect(() => writeRecord(buffer, 0, FORWARD_RECORD, { ...FORWARD_VALUES, q: -16 })).toThrow(
      "ForwardRecord: field 'q' is -16, not a u32",
    );
  });

  it('a kernel call missing a field is refused before the module runs', () => {
    const simd = seriesSimd();
    if (simd == null) throw new Error('the SIMD build did not load');
    const [keys, channels] = [3, 4];
    const rows = () => new Float32Array(keys * channels).fill(0.5);
    const state = () => new Float32Array(3 * channels);
    const call: ForwardRecord = {
      q: rows(),
      k: rows(),
      v: rows(),
      mask: new Float32Array(keys).fill(1),
      initialS: state(),
      initialZ: state(),
      y: rows(),
      finalS: state(),
      finalZ: state(),
      batch: 1,
      queries: keys,
      keys,
      channels,
      order: 2,
      causal: true,
    };
    const { initialZ: _, ...withoutState } = call;
    expect(() => simd.forward(withoutState as unknown as ForwardRecord, null)).toThrow(
      "ForwardRecord: field 'initialZ' is missing",
    );
    const { order, ...withoutOrder } = call;
    const misnamed = { ...withoutOrder, terms: order + 1 } as unknown as ForwardRecord;
    expect(() => simd.forward(misnamed, null)).toThrow("ForwardRecord: field 'order' is missing");
    expect(call.y.every((x) => x === 0.5)).toBe(true);
    expect(simd.forward(call, null)).toBe(true);
    expect(call.y.every((x) => Math.abs(x - 0.5) < 1e-6)).toBe(true);
  });
});
