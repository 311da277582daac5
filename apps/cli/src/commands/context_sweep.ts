import type { AttentionConfig, CharLMConfig, TextDataset } from '@elementwise/models';
import * as tf from '@tensorflow/tfjs-core';
import { attentionLabel } from '../options.js';
import {
  measureTraining,
  type TrainingMeasurement,
  type TrainingMeasurementOptions,
} from './training_measurement.js';

/** tfjs-backend-wasm's heap: wasm32 memory cannot grow past 4 GiB. */
export const WASM_HEAP_BYTES = 2 ** 32;

export interface ContextSweepOptions extends TrainingMeasurementOptions {
  contexts: number[];
  /** A length whose predicted step takes longer is skipped. */
  maxStepSeconds: number;
  /** The backend's memory ceiling, or null for none (cpu). */
  heapBytes: number | null;
}

export interface ContextSweepRow {
  label: string;
  length: number;
  /** Measured, or predicted from the shorter lengths when the length was skipped. */
  msPerStep: number;
  stepPeakBytes: number;
  parameters: number;
  /** Why the length was not run, when it was not. */
  skipped?: string;
}

interface Point {
  length: number;
  value: number;
}

/**
 * y at `length` from measured points: y = u·L + v·L² through the last two (v ≥ 0: a step's
 * memory and time grow at least linearly, and quadratically for softmax attention's L × L
 * scores), or y ∝ L from a single one.
 */
export function extrapolate(points: Point[], length: number): number {
  if (points.length === 0) throw new Error('extrapolate: no measured point');
  const last = points[points.length - 1];
  if (points.length === 1) return (last.value * length) / last.length;
  const previous = points[points.length - 2];
  // Solve y = u L + v L² through both points.
  const [l1, y1, l2, y2] = [previous.length, previous.value, last.length, last.value];
  const v = Math.max(0, (y2 / l2 - y1 / l1) / (l2 - l1));
  const u = y2 / l2 - v * l2;
  return Math.max(u * length + v * length * length, (last.value * length) / last.length);
}

/**
 * Training step time and peak memory of each attention at each context length, shortest first.
 * A length predicted (from the shorter ones) to need more than the backend's heap, or longer
 * than `maxStepSeconds` per step, is skipped and its prediction reported instead, as are the
 * lengths after it.
 */
export async function contextSweep(
  attentions: AttentionConfig[],
  configAt: (attention: AttentionConfig, length: number) => CharLMConfig,
  text: TextDataset,
  options: ContextSweepOptions,
): Promise<ContextSweepRow[]> {
  const rows: ContextSweepRow[] = [];
  const lengths = [...options.contexts].sort((a, b) => a - b);
  for (const attention of attentions) {
    const label = attentionLabel(attention);
    const memory: Point[] = [];
    const time: Point[] = [];
    let parameters = 0;
    let skippedShorter = false;
    for (const length of lengths) {
      if (memory.length > 0) {
        const predicted = {
          msPerStep: extrapolate(time, length),
          stepPeakBytes: extrapolate(memory, length),
        };
        const skipped = skipReason(predicted, options, skippedShorter);
        if (skipped !== null) {
          skippedShorter = true;
          rows.push({ label, length, ...predicted, parameters, skipped });
          continue;
        }
      }
      const measured: TrainingMeasurement = await measureTraining(
        configAt(attention, length),
        text,
        options,
        `${label}, context ${length}`,
      );
      parameters = measured.parameters;
      memory.push({ length, value: measured.stepPeakBytes });
      time.push({ length, value: measured.msPerStep });
      rows.push({ label, length, ...measured });
    }
  }
  return rows;
}

/** Why a length with this prediction is not run, or null to run it. */
function skipReason(
  predicted: { msPerStep: number; stepPeakBytes: number },
  options: ContextSweepOptions,
  skippedShorter: boolean,
): string | null {
  const free =
    options.heapBytes === null
      ? Number.POSITIVE_INFINITY
      : options.heapBytes - tf.memory().numBytes;
  if (predicted.stepPeakBytes > free) {
    return `predicted ${mb(predicted.stepPeakBytes)} MB > the ${mb(free)} MB left of the ${mb(options.heapBytes ?? 0)} MB wasm heap`;
  }
  if (predicted.msPerStep > options.maxStepSeconds * 1000) {
    return `predicted ${seconds(predicted.msPerStep)} s per step > --max-step-seconds ${options.maxStepSeconds}`;
  }
  return skippedShorter ? 'a shorter context was skipped' : null;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return s >= 10 ? s.toFixed(0) : s.toPrecision(2);
}

function mb(bytes: number): string {
  return Math.round(bytes / 2 ** 20).toLocaleString('en-US');
}
