/**
 * Machine limits measured in the benchmark's own process, for the roofline of the fused kernel:
 * WebAssembly SIMD f32x4 multiply-add throughput, Math.exp cost and Float32Array copy bandwidth.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { median } from '@elementwise/bench';

/** Independent f32x4 accumulator chains: enough to cover the mul and add latencies. */
const CHAINS = 12;

/** AssemblyScript: CHAINS independent chains of a = a·m + c (one f32x4.mul and one f32x4.add). */
function peakSource(): string {
  const chains = Array.from({ length: CHAINS }, (_, i) => i);
  return [
    'export function run(n: i32): f32 {',
    '  const m = f32x4.splat(0.99995);',
    '  const c = f32x4.splat(0.00005);',
    ...chains.map((i) => `  let a${i} = f32x4.splat(${(1 + i / 64).toFixed(4)});`),
    '  for (let i = 0; i < n; i++) {',
    ...chains.map((i) => `    a${i} = f32x4.add(f32x4.mul(a${i}, m), c);`),
    '  }',
    `  let s = a0;`,
    ...chains.slice(1).map((i) => `  s = f32x4.add(s, a${i});`),
    '  return f32x4.extract_lane(s, 0);',
    '}',
    '',
  ].join('\n');
}

function compilePeakModule(): Uint8Array<ArrayBuffer> {
  const require = createRequire(import.meta.url);
  const asc = join(dirname(require.resolve('assemblyscript/package.json')), 'bin', 'asc.js');
  const work = mkdtempSync(join(tmpdir(), 'ew-peak-'));
  try {
    writeFileSync(join(work, 'peak.ts'), peakSource());
    const out = join(work, 'peak.wasm');
    execFileSync(
      process.execPath,
      [asc, 'peak.ts', '--enable', 'simd', '-O3', '--runtime', 'stub', '--noAssert', '-o', out],
      { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    return Uint8Array.from(readFileSync(out));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface MachineLimits {
  /** Single-thread f32x4 mul+add throughput (4 lanes × 2 flops per pair), GFLOP/s. */
  simdGflops: number;
  /** Math.exp over a Float64Array, ns per call. */
  expNs: number;
  /** Float32Array.set of 64 MB: bytes copied per second (each byte read once and written once), GB/s. */
  copyGBs: number;
}

export async function measureMachineLimits(): Promise<MachineLimits> {
  const module = await WebAssembly.compile(compilePeakModule());
  const instance = await WebAssembly.instantiate(module);
  const run = instance.exports.run as (n: number) => number;
  const iterations = 20_000_000;
  run(iterations / 10);
  const peak: number[] = [];
  let sink = 0;
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    sink += run(iterations);
    const seconds = (performance.now() - start) / 1000;
    peak.push((iterations * CHAINS * 8) / seconds / 1e9);
  }

  const xs = new Float64Array(1 << 20);
  for (let i = 0; i < xs.length; i++) xs[i] = ((i * 7919) % 1000) / 250 - 2;
  const expRun = (): number => {
    let total = 0;
    for (let i = 0; i < xs.length; i++) total += Math.exp(xs[i]);
    return total;
  };
  sink += expRun();
  const exp: number[] = [];
  for (let r = 0; r < 7; r++) {
    const start = performance.now();
    sink += expRun();
    exp.push(((performance.now() - start) * 1e6) / xs.length);
  }

  const bytes = 64 * 2 ** 20;
  const source = new Float32Array(bytes / 4).fill(1.5);
  const target = new Float32Array(bytes / 4);
  target.set(source);
  const copy: number[] = [];
  for (let r = 0; r < 7; r++) {
    source[r] = r;
    const start = performance.now();
    target.set(source);
    copy.push(bytes / ((performance.now() - start) / 1000) / 1e9);
  }
  if (Number.isNaN(sink + target[3])) throw new Error('machine limits: unexpected NaN');
  return {
    simdGflops: Math.max(...peak),
    expNs: median(exp),
    copyGBs: median(copy),
  };
}
