import { type Dataset, evaluate, type Model } from '@elementwise/models';
import { captureAttentionInputs } from '../analysis/kernel_capture.js';
import { pairwiseQkMagnitudes, summarizeQkMagnitudes } from '../analysis/qk_statistics.js';
import { type BackendName, useBackend } from '../backend.js';
import { openModels } from '../model_source.js';
import { attentionLabel } from '../options.js';
import { taskForConfig } from '../tasks/index.js';
import { formatCount } from '../ui/format.js';
import { printTable } from '../ui/table.js';
import type { EvalSplit } from './eval.js';

export interface InspectCommandOptions {
  model?: string[];
  pretrained?: string[];
  task?: string;
  split: EvalSplit;
  batchSize: number;
  backend: BackendName;
}

/** The first `count` examples (or `count` context windows of text) of a dataset. */
export function leadingExamples(data: Dataset, count: number, model: Model): Dataset {
  switch (data.kind) {
    case 'text':
      return { ...data, text: data.text.slice(0, count * (model.config.maxLength + 1)) };
    case 'tokens': {
      const values = Math.min(count, data.inputs.length / data.length) * data.length;
      return {
        ...data,
        inputs: data.inputs.slice(0, values),
        targets: data.targets.slice(0, values),
        ...(data.weights ? { weights: data.weights.slice(0, values) } : {}),
      };
    }
    case 'sequences': {
      const n = Math.min(count, data.labels.length);
      return {
        ...data,
        inputs: data.inputs.slice(0, n * data.length * data.channels),
        labels: data.labels.slice(0, n),
      };
    }
    case 'series': {
      const steps = Math.min(
        count + data.inputLength + data.horizon - 1,
        data.values.length / data.channels,
      );
      return {
        ...data,
        values: data.values.slice(0, steps * data.channels),
        ...(data.times ? { times: data.times.slice(0, steps) } : {}),
      };
    }
  }
}

/**
 * Percentiles of |2 q k| per layer of EA models, over every (query, key ≤ query when causal,
 * channel) triple of the first `--batch-size` held-out examples, read from the q and k that the
 * EA kernel receives during evaluation.
 */
export async function inspectCommand(options: InspectCommandOptions): Promise<void> {
  const backend = await useBackend(options.backend);
  const models = await openModels(options);
  const rows: string[][] = [];
  try {
    for (const { model, label } of models) {
      const name = `${attentionLabel(model.config.attention)} (${label})`;
      if (model.config.attention.kind !== 'ea') {
        process.stderr.write(
          `${name}: softmax attention has no |2qk| series to inspect; skipped\n`,
        );
        continue;
      }
      const task = taskForConfig(model.config, options.task);
      const splits = task.load(task.optionsFromConfig(model.config));
      const subset = leadingExamples(splits[options.split], options.batchSize, model);
      const calls = await captureAttentionInputs(async () => {
        await evaluate(model, subset, { batchSize: options.batchSize });
      });
      const layers = model.config.numLayers;
      if (calls.length === 0 || calls.length % layers !== 0) {
        throw new Error(
          `${name}: expected a multiple of ${layers} EA kernel calls, saw ${calls.length}`,
        );
      }
      for (let layer = 0; layer < layers; layer += 1) {
        const parts = calls.filter((_, i) => i % layers === layer);
        const magnitudes = parts.map((call) =>
          pairwiseQkMagnitudes(
            call.q,
            call.k,
            {
              batch: call.qShape[0],
              queries: call.qShape[1],
              keys: call.kShape[1],
              channels: call.qShape[2],
            },
            call.causal,
          ),
        );
        const all = new Float32Array(magnitudes.reduce((n, m) => n + m.length, 0));
        let offset = 0;
        for (const m of magnitudes) {
          all.set(m, offset);
          offset += m.length;
        }
        const s = summarizeQkMagnitudes(all);
        rows.push([
          name,
          String(layer),
          formatCount(s.pairs),
          s.p50.toFixed(3),
          s.p90.toFixed(3),
          s.p99.toFixed(3),
          s.max.toFixed(2),
          `${(100 * s.above1).toFixed(2)}%`,
          `${(100 * s.above2).toFixed(2)}%`,
          `${(100 * s.above3).toFixed(2)}%`,
        ]);
      }
    }
  } finally {
    for (const { model } of models) model.dispose();
  }
  printTable(
    `|2qk| per layer (query, key, channel triples the EA series weights) on the first ${options.batchSize} examples of the ${options.split} split, backend ${backend.name}`,
    ['model', 'layer', 'triples', 'p50', 'p90', 'p99', 'max', '> 1', '> 2', '> 3'],
    rows,
  );
}
