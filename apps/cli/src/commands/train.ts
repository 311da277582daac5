import { constants } from 'node:fs';
import { access, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  type AttentionConfig,
  type BackboneConfig,
  createModel,
  evaluate,
  type Metrics,
  saveModel,
  type TrainOptions,
  train,
} from '@elementwise/models';
import { type BackendName, useBackend } from '../backend.js';
import { machineDescription } from '../machine.js';
import { fileUrl } from '../model_source.js';
import { attentionLabel, type EaFlags, withEaFlags } from '../options.js';
import { taskByName } from '../tasks/index.js';
import { formatCount, formatDuration } from '../ui/format.js';
import { ProgressDisplay } from '../ui/progress.js';
import { printMetricsTable } from './metrics_table.js';

export interface TrainCommandOptions extends EaFlags {
  task: string;
  attention: AttentionConfig[];
  backend: BackendName;
  out: string;
  horizon?: number;
  seed: number;
  steps?: number;
  batchSize?: number;
  lr?: number;
  warmup?: number;
  minLr?: number;
  weightDecay?: number;
  recompute: boolean;
  clipNorm?: number;
  evalEvery?: number;
  evalBatches?: number;
  patience?: number;
  dModel?: number;
  heads?: number;
  layers?: number;
  context?: number;
  ffMultiplier?: number;
  dropout?: number;
  norm?: 'post' | 'pre';
  positional?: 'sinusoidal' | 'learned' | 'time';
  shortConv: number;
  outputGate: boolean;
}

/** What `train` writes beside the weights: how the model was made and what it scored. */
export interface TrainingRecord {
  task: string;
  attention: string;
  command: string;
  backend: string;
  eaKernels: string;
  machine: string;
  parameters: number;
  wallTimeMs: number;
  stepsRun: number;
  training: Omit<TrainOptions, 'onProgress' | 'signal'>;
  taskOptions: Record<string, unknown>;
  best?: Metrics;
  validation: Metrics;
  test: Metrics;
  history: Array<{
    step: number;
    loss: number;
    learningRate: number;
    elapsedMs: number;
    validation?: Metrics;
  }>;
}

/**
 * Checks that `--out` can receive the model before any data is loaded or any step runs, so a
 * wrong path fails at once instead of after the whole training: an existing path must be a
 * writable directory, otherwise its nearest existing ancestor must be (mkdir creates the rest).
 */
async function checkOutputDirectory(out: string): Promise<void> {
  const target = resolve(out);
  let probe = target;
  let info: Awaited<ReturnType<typeof stat>> | undefined;
  while (info === undefined) {
    try {
      info = await stat(probe);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(probe) === probe) {
        throw new Error(`--out: cannot use ${target}: ${(error as Error).message}`);
      }
      probe = dirname(probe);
    }
  }
  if (!info.isDirectory()) {
    throw new Error(
      probe === target
        ? `--out: ${target} is a file, not a directory`
        : `--out: cannot create ${target}: ${probe} is a file, not a directory`,
    );
  }
  try {
    await access(probe, constants.W_OK);
  } catch {
    const creating = probe === target ? '' : ` (to create ${target} in it)`;
    throw new Error(`--out: ${probe} is not writable${creating}`);
  }
}

export async function trainCommand(options: TrainCommandOptions): Promise<void> {
  const task = taskByName(options.task);
  if (options.attention.length !== 1) {
    throw new Error('--attention: train takes exactly one attention (e.g. --attention ea-6)');
  }
  if (options.horizon !== undefined && task.modelTask !== 'forecaster') {
    throw new Error(`--horizon applies to forecasting tasks only, not --task ${task.name}`);
  }
  const [attention] = withEaFlags(options.attention, options);
  await checkOutputDirectory(options.out);
  const backend = await useBackend(options.backend);
  const taskOptions = { horizon: options.horizon };
  const splits = task.load(taskOptions);
  const defaults = task.backbone;
  const backbone: BackboneConfig = {
    ...defaults,
    dModel: options.dModel ?? defaults.dModel,
    numHeads: options.heads ?? defaults.numHeads,
    numLayers: options.layers ?? defaults.numLayers,
    maxLength: options.context ?? defaults.maxLength,
    ffMultiplier: options.ffMultiplier ?? defaults.ffMultiplier,
    dropout: options.dropout ?? defaults.dropout,
    ...(options.norm ? { norm: options.norm } : {}),
    ...(options.positional ? { positional: options.positional } : {}),
    shortConv: options.shortConv,
    outputGate: options.outputGate,
    attention,
  };
  const config = task.modelConfig(backbone, splits, taskOptions);
  const t = task.training;
  const steps = options.steps ?? t.steps;
  const trainingOptions: Omit<TrainOptions, 'onProgress' | 'signal'> = {
    steps,
    batchSize: options.batchSize ?? t.batchSize,
    learningRate: options.lr ?? t.learningRate,
    // A task's default warm-up never outlasts a shorter run asked for with --steps.
    warmupSteps: options.warmup ?? Math.min(t.warmupSteps, steps),
    minLearningRate: options.minLr ?? t.minLearningRate,
    weightDecay: options.weightDecay ?? t.weightDecay,
    clipNorm: options.clipNorm ?? t.clipNorm,
    evalEvery: options.evalEvery ?? Math.min(t.evalEvery, steps),
    evalBatches: options.evalBatches ?? t.evalBatches,
    seed: options.seed,
    recompute: options.recompute,
  };
  const patience = options.patience ?? t.earlyStoppingPatience;
  if (patience !== undefined && patience > 0) trainingOptions.earlyStopping = { patience };

  const model = createModel(config, { seed: options.seed });
  const label = attentionLabel(attention);
  process.stderr.write(
    `training ${label} on ${task.name} (${task.modelTask}): ${formatCount(model.parameterCount())} parameters, ` +
      `dModel ${backbone.dModel}, ${backbone.numLayers} layers, context ${backbone.maxLength}, ` +
      `${trainingOptions.steps} steps × batch ${trainingOptions.batchSize}, backend ${backend.name} with ${backend.eaKernels}\n`,
  );

  const controller = new AbortController();
  const stop = () => {
    process.stderr.write('\ninterrupted: stopping after this step and saving the model\n');
    controller.abort();
  };
  process.once('SIGINT', stop);
  const progress = new ProgressDisplay(trainingOptions.steps, 'step');
  const started = Date.now();
  let result: Awaited<ReturnType<typeof train>>;
  try {
    result = await train(
      model,
      { train: splits.train, validation: splits.validation },
      {
        ...trainingOptions,
        signal: controller.signal,
        onProgress: (event) =>
          progress.update({
            step: event.step,
            loss: event.loss,
            learningRate: event.learningRate,
            tokensPerSecond: event.tokensPerSecond,
            note: event.validation
              ? `validation ${task.metrics
                  .map((m) => `${m.label} ${event.validation?.[m.key]?.toFixed(4) ?? '—'}`)
                  .join(', ')}`
              : undefined,
          }),
      },
    );
  } finally {
    progress.stop();
    process.removeListener('SIGINT', stop);
  }
  const wallTimeMs = Date.now() - started;

  const validation = await evaluate(model, splits.validation);
  const test = await evaluate(model, splits.test);
  await mkdir(options.out, { recursive: true });
  await saveModel(model, fileUrl(options.out));
  const record: TrainingRecord = {
    task: task.name,
    attention: label,
    command: `elementwise ${process.argv.slice(2).join(' ')}`,
    backend: backend.name,
    eaKernels: backend.eaKernels,
    machine: machineDescription(),
    parameters: model.parameterCount(),
    wallTimeMs,
    stepsRun: result.history.at(-1)?.step ?? 0,
    training: trainingOptions,
    taskOptions,
    best: result.best,
    validation,
    test,
    history: result.history.map(({ step, loss, learningRate, elapsedMs, validation: v }) => ({
      step,
      loss,
      learningRate,
      elapsedMs,
      ...(v ? { validation: v } : {}),
    })),
  };
  await writeFile(join(options.out, 'training.json'), `${JSON.stringify(record, null, 2)}\n`);
  process.stderr.write(
    `trained in ${formatDuration(wallTimeMs)}; model saved to ${resolve(options.out)}\n`,
  );
  printMetricsTable(task, `${task.name}: ${label}`, [
    { name: 'validation', parameters: model.parameterCount(), metrics: validation },
    { name: 'test', parameters: model.parameterCount(), metrics: test },
  ]);
  model.dispose();
}
