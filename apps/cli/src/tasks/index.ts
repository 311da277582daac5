import type { ModelConfig } from '@elementwise/models';
import { co2Task } from './co2.js';
import { digitsTask } from './digits.js';
import { mobyDickTask } from './moby_dick.js';
import { seattleRainTask } from './seattle_rain.js';
import type { TaskDefinition } from './task.js';

export const TASKS: readonly TaskDefinition[] = [
  mobyDickTask,
  digitsTask,
  seattleRainTask,
  co2Task,
];
export const TASK_NAMES = TASKS.map((task) => task.name);

export function taskByName(name: string): TaskDefinition {
  const task = TASKS.find((candidate) => candidate.name === name);
  if (!task) throw new Error(`--task: unknown task "${name}". Accepted: ${TASK_NAMES.join(', ')}.`);
  return task;
}

/** The task whose data a saved model's config fits; `--task` picks one when several do. */
export function taskForConfig(config: ModelConfig, requested?: string): TaskDefinition {
  if (requested !== undefined) {
    const task = taskByName(requested);
    if (!task.accepts(config)) {
      throw new Error(
        `--task ${requested}: the model (${config.task}) does not fit this task's data (${task.description})`,
      );
    }
    return task;
  }
  const fitting = TASKS.filter((task) => task.accepts(config));
  if (fitting.length !== 1) {
    throw new Error(
      `cannot tell which dataset this ${config.task} model belongs to; pass --task (${fitting.map((t) => t.name).join(', ') || TASK_NAMES.join(', ')})`,
    );
  }
  return fitting[0];
}
