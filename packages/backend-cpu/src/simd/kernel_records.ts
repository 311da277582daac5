import type { BackwardRecord, ForwardRecord } from '../maths/records.js';

/**
 * The layout table of the WebAssembly module's parameter records (assembly/records.ts): each
 * exported kernel takes the address of one record, which TypeScript fills here field by field,
 * by name. Every field is 4 bytes, in the order listed (the order of the AssemblyScript class).
 * The module exports the offsets its compiler gave each field (`offsetof_<Record>_<field>`,
 * `sizeof_<Record>`, see scripts/build-wasm.mjs); {@link checkRecordLayouts} compares them with
 * this table when the module loads, so the two cannot drift apart unnoticed.
 */

/**
 * What a field holds: the address of an array the kernel reads (`input`) or writes (`output`),
 * a size, an attr, or the address of the kernel's scratch memory.
 */
export type FieldRole = 'input' | 'output' | 'size' | 'attr' | 'scratch';

export interface RecordLayout<Field extends string = string> {
  /** The record's class in assembly/records.ts. */
  readonly name: string;
  readonly roles: Readonly<Record<Field, FieldRole>>;
  /** Byte offset of each field from the record's address. */
  readonly offsets: Readonly<Record<Field, number>>;
  readonly bytes: number;
}

const FIELD_BYTES = 4;

function recordLayout<Field extends string>(
  name: string,
  roles: Record<Field, FieldRole>,
): RecordLayout<Field> {
  const fields = Object.keys(roles);
  const offsets = Object.fromEntries(fields.map((field, i) => [field, i * FIELD_BYTES]));
  return {
    name,
    roles,
    offsets: offsets as Record<Field, number>,
    bytes: fields.length * FIELD_BYTES,
  };
}

/** The fields the forward and backward records share, first (assembly's AttentionRecord). */
const attentionFields = {
  q: 'input',
  k: 'input',
  v: 'input',
  mask: 'input',
  initialS: 'input',
  initialZ: 'input',
  batch: 'size',
  queries: 'size',
  keys: 'size',
  channels: 'size',
  order: 'attr',
  causal: 'attr',
  scratch: 'scratch',
} as const;

export const FORWARD_RECORD = recordLayout('ForwardRecord', {
  ...attentionFields,
  y: 'output',
  finalS: 'output',
  finalZ: 'output',
} satisfies Record<keyof ForwardRecord | 'scratch', FieldRole>);

export const BACKWARD_RECORD = recordLayout('BackwardRecord', {
  ...attentionFields,
  dy: 'input',
  dFinalS: 'input',
  dFinalZ: 'input',
  dq: 'output',
  dk: 'output',
  dv: 'output',
  dInitialS: 'output',
  dInitialZ: 'output',
} satisfies Record<keyof BackwardRecord | 'scratch', FieldRole>);

export const EXP_RECORD = recordLayout('ExpRecord', {
  source: 'input',
  target: 'output',
  count: 'size',
  scratch: 'scratch',
});

const RECORD_LAYOUTS: readonly RecordLayout[] = [FORWARD_RECORD, BACKWARD_RECORD, EXP_RECORD];

const isAddress = (role: FieldRole) => role === 'input' || role === 'output' || role === 'scratch';

/**
 * Writes the record of `layout` at byte `at` of `buffer`, each field from `values` by name.
 * Refuses, naming the field, a field of the layout that `values` lacks (or holds no integer of
 * the field's range for), and a value for a field the layout does not have (a misnamed field).
 */
export function writeRecord(
  buffer: ArrayBufferLike,
  at: number,
  layout: RecordLayout,
  values: Readonly<Record<string, number>>,
): void {
  const fields = Object.keys(layout.offsets);
  for (const name of Object.keys(values)) {
    if (!(name in layout.offsets)) {
      throw new Error(
        `${layout.name}: no field '${name}' in the record (its fields: ${fields.join(', ')})`,
      );
    }
  }
  const view = new DataView(buffer, at, layout.bytes);
  for (const name of fields) {
    const value = values[name];
    const address = isAddress(layout.roles[name]);
    const fits = address ? value >>> 0 === value : (value | 0) === value;
    if (!fits) {
      const what = value === undefined ? 'missing' : `${value}, not a ${address ? 'u32' : 'i32'}`;
      throw new Error(`${layout.name}: field '${name}' is ${what}`);
    }
    view.setUint32(layout.offsets[name], value >>> 0, true);
  }
}

/** One line per difference between `layout` and the module's record of the same name. */
export function layoutDifferences(
  exports: Readonly<Record<string, unknown>>,
  layout: RecordLayout,
): string[] {
  const prefix = `offsetof_${layout.name}_`;
  const inModule = new Map<string, number>();
  for (const [name, value] of Object.entries(exports)) {
    if (name.startsWith(prefix)) {
      inModule.set(name.slice(prefix.length), Number((value as WebAssembly.Global).value));
    }
  }
  const differences: string[] = [];
  for (const [field, offset] of Object.entries<number>(layout.offsets)) {
    const moduleOffset = inModule.get(field);
    if (moduleOffset === undefined) {
      differences.push(`${layout.name}.${field} is missing from the module's record`);
    } else if (moduleOffset !== offset) {
      differences.push(
        `${layout.name}.${field} is at byte ${moduleOffset} in the module, ${offset} in the table`,
      );
    }
  }
  for (const field of inModule.keys()) {
    if (!(field in layout.offsets)) {
      differences.push(`${layout.name}.${field} is in the module's record, not in the table`);
    }
  }
  const size = exports[`sizeof_${layout.name}`] as WebAssembly.Global | undefined;
  const moduleBytes = size === undefined ? undefined : Number(size.value);
  if (moduleBytes !== layout.bytes) {
    differences.push(`${layout.name} has ${moduleBytes} bytes in the module, ${layout.bytes} here`);
  }
  return differences;
}

/** Throws, listing every difference, unless the module's records match the table. */
export function checkRecordLayouts(
  exports: Readonly<Record<string, unknown>>,
  layouts: readonly RecordLayout[] = RECORD_LAYOUTS,
): void {
  const differences = layouts.flatMap((layout) => layoutDifferences(exports, layout));
  if (differences.length > 0) {
    throw new Error(
      'The parameter records of the WebAssembly SIMD module (assembly/records.ts) and of ' +
        `src/simd/kernel_records.ts disagree: ${differences.join('; ')}.`,
    );
  }
}
