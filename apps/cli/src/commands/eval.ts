import { evaluate } from '@elementwise/models';
import { type BackendName, useBackend } from '../backend.js';
import { forEachModel } from '../model_source.js';
import { attentionLabel } from '../options.js';
import { taskForConfig } from '../tasks/index.js';
import type { TaskDefinition, TaskOptions, TaskSplits } from '../tasks/task.js';
import { formatDuration } from '../ui/format.js';
import { type MetricsRow, printMetricsTable } from './metrics_table.js';

export const EVAL_SPLITS = ['test', 'validation'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

export interface EvalCommandOptions {
  model?: string[];
  pretrained?: string[];
  task?: string;
  split: EvalSplit;
  backend: BackendName;
  batchSize?: number;
  baselines: boolean;
}

/** Scores each model on the whole split of its task's data and prints one table per task. */
export async function evalCommand(options: EvalCommandOptions): Promise<void> {
  const backend = await useBackend(options.backend);
  const groups = new Map<
    string,
    { task: TaskDefinition; taskOptions: TaskOptions; rows: MetricsRow[] }
  >();
  const dataCache = new Map<string, TaskSplits>();
  await forEachModel(options, async ({ model, label }) => {
    const task = taskForConfig(model.config, options.task);
    const taskOptions = task.optionsFromConfig(model.config);
    const key = `${task.name} ${JSON.stringify(taskOptions)}`;
    let splits = dataCache.get(key);
    if (!splits) {
      splits = task.load(taskOptions);
      dataCache.set(key, splits);
    }
    const started = Date.now();
    const metrics = await evaluate(model, splits[options.split], {
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    });
    const group = groups.get(key) ?? { task, taskOptions, rows: [] };
    group.rows.push({
      name: `${attentionLabel(model.config.attention)}: ${label}`,
      parameters: model.parameterCount(),
      metrics,
      note: `evaluated in ${formatDuration(Date.now() - started)}`,
    });
    groups.set(key, group);
  });
  for (const { task, taskOptions, rows } of groups.values()) {
    if (options.baselines) {
      for (const baseline of task.baselines(options.split, taskOptions)) {
        rows.push({ name: baseline.name, metrics: baseline.metrics, note: baseline.note });
      }
    }
    const suffix = taskOptions.horizon ? `, horizon ${taskOptions.horizon}` : '';
    printMetricsTable(
      task,
      `${task.name}${suffix}: ${options.split} split, backend ${backend.name}`,
      rows,
    );
  }
}
