import { queriesAndKeys } from '@elementwise/models';
import { pairwiseQkMagnitudes, summarizeQkMagnitudes } from '../analysis/qk_statistics.js';
import { type BackendName, useBackend } from '../backend.js';
import { forEachModel } from '../model_source.js';
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

/**
 * Percentiles of |2 q k| per layer of EA models, over every (query, key ≤ query when causal,
 * channel) triple of the first `--batch-size` held-out examples, from the q and k each attention
 * layer compares (`queriesAndKeys`: a sub-model of the network gives each block's input).
 */
export async function inspectCommand(options: InspectCommandOptions): Promise<void> {
  const backend = await useBackend(options.backend);
  const rows: string[][] = [];
  await forEachModel(options, async ({ model, label }) => {
    const name = `${attentionLabel(model.config.attention)} (${label})`;
    if (model.config.attention.kind !== 'ea') {
      process.stderr.write(`${name}: softmax attention has no |2qk| series to inspect; skipped\n`);
      return;
    }
    const task = taskForConfig(model.config, options.task);
    const splits = task.load(task.optionsFromConfig(model.config));
    const layers = await queriesAndKeys(model, splits[options.split], {
      examples: options.batchSize,
    });
    for (const { layer, query, key, shape, causal } of layers) {
      const [batch, length, channels] = shape;
      const all = pairwiseQkMagnitudes(
        query,
        key,
        { batch, queries: length, keys: length, channels },
        causal,
      );
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
  });
  printTable(
    `|2qk| per layer (query, key, channel triples the EA series weights) on the first ${options.batchSize} examples of the ${options.split} split, backend ${backend.name}`,
    ['model', 'layer', 'triples', 'p50', 'p90', 'p99', 'max', '> 1', '> 2', '> 3'],
    rows,
  );
}
