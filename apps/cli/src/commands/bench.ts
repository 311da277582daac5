import {
  type AttentionConfig,
  type CharLM,
  type CharLMConfig,
  createModel,
  train,
} from '@elementwise/models';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, useBackend } from '../backend.js';
import { characterVocabulary, loadMobyDick } from '../data/moby_dick.js';
import { machineDescription } from '../machine.js';
import { attentionLabel, type EaFlags, withEaFlags } from '../options.js';
import { mobyDickTask } from '../tasks/moby_dick.js';
import { formatCount } from '../ui/format.js';
import { ProgressDisplay } from '../ui/progress.js';
import { printTable } from '../ui/table.js';
import { streamGeneration } from './generate.js';

export interface BenchCommandOptions extends EaFlags {
  attention: AttentionConfig[];
  backend: BackendName;
  dModel?: number;
  heads?: number;
  layers?: number;
  trainContext?: number;
  context: number;
  promptLength: number;
  tokens: number;
  trainSteps: number;
  batchSize: number;
  recompute: boolean;
  decodePositions?: number[];
  shortConv: number;
  outputGate: boolean;
  seed: number;
}

interface BenchResult {
  label: string;
  parameters: number;
  trainMsPerStep: number;
  /** Peak tensor bytes of one training step above what was allocated before it. */
  stepPeakBytes: number;
  decodeTokensPerSecond: number;
  firstTokenMs: number;
}

/**
 * Char-LM speed of each attention at the same size: training step time on Moby-Dick batches
 * (first step excluded: it compiles kernels) and generation tokens/s from a prompt, on freshly
 * initialised weights (speed does not depend on their values).
 */
export async function benchCommand(options: BenchCommandOptions): Promise<void> {
  if (options.trainSteps < 2)
    throw new Error('--train-steps must be ≥ 2 (the first step is warm-up)');
  if (options.promptLength + options.tokens > options.context) {
    throw new Error(
      `--prompt-length + --tokens (${options.promptLength + options.tokens}) must fit in --context ${options.context}`,
    );
  }
  const backend = await useBackend(options.backend);
  const splits = loadMobyDick();
  const defaults = mobyDickTask.backbone;
  const shape = {
    ...defaults,
    dModel: options.dModel ?? defaults.dModel,
    numHeads: options.heads ?? defaults.numHeads,
    numLayers: options.layers ?? defaults.numLayers,
    vocabulary: characterVocabulary(splits.train.text),
    task: 'char-lm' as const,
    shortConv: options.shortConv,
    outputGate: options.outputGate,
  };
  const prompt = splits.test.text.slice(0, options.promptLength);
  const results: BenchResult[] = [];
  const decoding: Array<{ label: string; microsecondsPerToken: number[] }> = [];
  for (const attention of withEaFlags(options.attention, options)) {
    const label = attentionLabel(attention);
    const trainConfig: CharLMConfig = {
      ...shape,
      maxLength: options.trainContext ?? defaults.maxLength,
      attention,
    };
    const trainee = createModel(trainConfig, { seed: options.seed });
    const parameters = trainee.parameterCount();
    const stepTimes: Array<{ step: number; elapsedMs: number }> = [];
    let stepPeakBytes = 0;
    const progress = new ProgressDisplay(options.trainSteps, `${label} training step`, 10);
    try {
      await train(
        trainee,
        { train: splits.train },
        {
          steps: options.trainSteps,
          batchSize: options.batchSize,
          learningRate: 1e-3,
          seed: options.seed,
          recompute: options.recompute,
          onProgress: (event) => {
            stepTimes.push({ step: event.step, elapsedMs: event.elapsedMs });
            progress.update({ step: event.step, loss: event.loss });
          },
        },
      );
      progress.stop();
      stepPeakBytes = await trainingStepPeakBytes(trainee, splits.train, options);
    } finally {
      progress.stop();
      trainee.dispose();
    }
    const first = stepTimes[0];
    const last = stepTimes[stepTimes.length - 1];
    const trainMsPerStep = (last.elapsedMs - first.elapsedMs) / (last.step - first.step);

    const generator = createModel(
      { ...trainConfig, maxLength: options.context },
      { seed: options.seed },
    );
    try {
      process.stderr.write(
        `${label}: generating ${options.tokens} tokens after a ${prompt.length}-character prompt\n`,
      );
      const timing = await streamGeneration(
        generator as CharLM,
        prompt,
        { maxTokens: options.tokens, temperature: 1, seed: options.seed },
        () => {},
      );
      results.push({
        label,
        parameters,
        trainMsPerStep,
        stepPeakBytes,
        decodeTokensPerSecond: timing.decodeTokensPerSecond,
        firstTokenMs: timing.firstTokenMs,
      });
    } finally {
      generator.dispose();
    }
    if (options.decodePositions) {
      decoding.push({
        label,
        microsecondsPerToken: await decodeTimes(trainConfig, options, splits.test.text, label),
      });
    }
  }
  const softmax = results.find((result) => result.label === 'softmax');
  const block = `${options.shortConv > 0 ? `short conv ${options.shortConv}` : 'no short conv'}, ${options.outputGate ? 'output gate' : 'no output gate'}`;
  printTable(
    `char LM speed, dModel ${shape.dModel}, ${shape.numLayers} layers, ${block}; training: batch ${options.batchSize} × ${options.trainContext ?? defaults.maxLength} chars, ` +
      `mean of steps 2–${options.trainSteps}${options.recompute ? ', blocks recomputed in the backward pass' : ''}; generation: ${options.tokens} tokens after a ${prompt.length}-char prompt (context ${options.context}); ` +
      `backend ${backend.name} (${backend.eaKernels}); ${machineDescription()}`,
    [
      'attention',
      'parameters',
      'train ms/step',
      'train chars/s',
      'step peak MB',
      'KB per train token',
      'decode tokens/s',
      'first token ms',
      ...(softmax ? ['train speed ÷ softmax', 'decode speed ÷ softmax'] : []),
    ],
    results.map((result) => [
      result.label,
      formatCount(result.parameters),
      result.trainMsPerStep.toFixed(1),
      formatCount(
        Math.round(
          (options.batchSize * (options.trainContext ?? defaults.maxLength) * 1000) /
            result.trainMsPerStep,
        ),
      ),
      (result.stepPeakBytes / 2 ** 20).toFixed(1),
      (
        result.stepPeakBytes /
        1024 /
        (options.batchSize * (options.trainContext ?? defaults.maxLength))
      ).toFixed(0),
      result.decodeTokensPerSecond.toFixed(1),
      result.firstTokenMs.toFixed(0),
      ...(softmax
        ? [
            (softmax.trainMsPerStep / result.trainMsPerStep).toFixed(2),
            (result.decodeTokensPerSecond / softmax.decodeTokensPerSecond).toFixed(2),
          ]
        : []),
    ]),
  );
  const positions = options.decodePositions;
  if (positions && positions.length > 0) {
    printTable(
      `generation cost by position: µs per token after a prompt of each length (${options.tokens} tokens each, fresh weights), ${block}; backend ${backend.name}`,
      ['attention', ...positions.map((p) => `position ${p}`), `last ÷ first`],
      decoding.map(({ label, microsecondsPerToken: times }) => [
        label,
        ...times.map((t) => t.toFixed(0)),
        (times[times.length - 1] / times[0]).toFixed(2),
      ]),
    );
  }
}

/**
 * Peak tensor bytes of one more training step of an already warmed-up model, above the bytes
 * allocated before it (the weights and anything else resident): activations, gradients and the
 * optimizer's moments, as `tf.profile` sees them.
 */
async function trainingStepPeakBytes(
  model: Parameters<typeof train>[0],
  text: Parameters<typeof train>[1]['train'],
  options: BenchCommandOptions,
): Promise<number> {
  const before = tf.memory().numBytes;
  const profile = await tf.profile(async () => {
    await train(
      model,
      { train: text },
      {
        steps: 1,
        batchSize: options.batchSize,
        learningRate: 1e-3,
        seed: options.seed,
        recompute: options.recompute,
      },
    );
    return [];
  });
  return Math.max(0, profile.peakBytes - before);
}

/**
 * Microseconds per generated token after a prompt of each of `options.decodePositions` tokens
 * (freshly initialised weights: the cost does not depend on their values). EA's step is
 * O(order · dModel) whatever the position; softmax attention's grows with its KV cache.
 */
async function decodeTimes(
  config: CharLMConfig,
  options: BenchCommandOptions,
  text: string,
  label: string,
): Promise<number[]> {
  const times: number[] = [];
  for (const position of options.decodePositions ?? []) {
    const prompt = text.repeat(Math.ceil(position / text.length)).slice(0, position);
    const generator = createModel(
      { ...config, maxLength: position + options.tokens },
      { seed: options.seed },
    );
    try {
      process.stderr.write(`${label}: ${options.tokens} tokens after position ${position}\n`);
      const timing = await streamGeneration(
        generator as CharLM,
        prompt,
        { maxTokens: options.tokens, temperature: 1, seed: options.seed },
        () => {},
      );
      times.push(1e6 / timing.decodeTokensPerSecond);
    } finally {
      generator.dispose();
    }
  }
  return times;
}
