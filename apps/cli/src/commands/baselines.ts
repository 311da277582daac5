import { taskByName } from '../tasks/index.js';
import type { EvalSplit } from './eval.js';
import { printMetricsTable } from './metrics_table.js';

export interface BaselinesCommandOptions {
  task: string;
  split: EvalSplit;
  horizon?: number;
}

/** Prints the model-free baselines of a task on a held-out split. */
export function baselinesCommand(options: BaselinesCommandOptions): void {
  const task = taskByName(options.task);
  if (options.horizon !== undefined && task.modelTask !== 'forecaster') {
    throw new Error(`--horizon applies to forecasting tasks only, not --task ${task.name}`);
  }
  const taskOptions = { horizon: options.horizon };
  const rows = task
    .baselines(options.split, taskOptions)
    .map((baseline) => ({ name: baseline.name, metrics: baseline.metrics, note: baseline.note }));
  const suffix = options.horizon ? `, horizon ${options.horizon}` : '';
  printMetricsTable(task, `${task.name}${suffix}: baselines on the ${options.split} split`, rows);
}
