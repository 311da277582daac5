import { listPretrained } from '@elementwise/models';
import { printTable } from '../ui/table.js';

export function listCommand(): void {
  printTable(
    'pretrained models (elementwise generate|eval --pretrained <name>)',
    ['name', 'task', 'metrics', 'description'],
    listPretrained().map((entry) => [
      entry.name,
      entry.task,
      Object.entries(entry.metrics)
        .map(([key, value]) => `${key} ${value}`)
        .join(', '),
      entry.description,
    ]),
  );
}
