import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  tfjs: string;
  /** 1-minute load average when sampled: other processes share these cores. */
  loadAverage: number;
  /** The commit measured, marked when the package's sources differ from it. */
  revision: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: cpuModel(),
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    tfjs: tf.version_core,
    loadAverage: loadavg()[0],
    revision: revision(),
  };
}

function revision(): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const changed = git('status', '--porcelain', '--', 'src', 'bench') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${changed ? ' + uncommitted changes in src/ or bench/' : ''}`;
  } catch {
    return 'unknown';
  }
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return match?.[1].trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function describeMachine(info: MachineInfo): string {
  return `${info.cpuModel}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node}, tfjs ${info.tfjs}, commit ${info.revision}, load average ${info.loadAverage.toFixed(1)}`;
}

/** SIMD and thread count of the wasm backend, once it is active. */
export async function describeWasm(): Promise<string> {
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = getThreadsCount();
  return `SIMD ${simd ? 'on' : 'off'}, ${threads} thread${threads === 1 ? '' : 's'}`;
}
