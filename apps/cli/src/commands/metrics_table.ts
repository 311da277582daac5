import type { Metrics } from '@elementwise/models';
import type { TaskDefinition } from '../tasks/task.js';
import { formatCount, formatNumber } from '../ui/format.js';
import { printTable } from '../ui/table.js';

export interface MetricsRow {
  name: string;
  parameters?: number;
  metrics: Partial<Metrics>;
  note?: string;
}

/** One row per model or baseline, one column per metric of the task. */
export function printMetricsTable(task: TaskDefinition, title: string, rows: MetricsRow[]): void {
  const withNotes = rows.some((row) => row.note);
  printTable(
    title,
    [
      'model',
      'parameters',
      ...task.metrics.map((m) => `${m.label} (${m.better === 'lower' ? '↓' : '↑'})`),
      ...(withNotes ? ['note'] : []),
    ],
    rows.map((row) => [
      row.name,
      row.parameters === undefined ? '—' : formatCount(row.parameters),
      ...task.metrics.map((m) => formatNumber(row.metrics[m.key])),
      ...(withNotes ? [row.note ?? ''] : []),
    ]),
  );
}
