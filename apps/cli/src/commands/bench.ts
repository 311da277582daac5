import {
  type AttentionConfig,
  type CharLM,
  type CharLMConfig,
  createModel,
  train,
} from '@elementwise/models';
import { type BackendName, useBackend } from '../backend.js';
import { characterVocabulary, loadMobyDick } from '../data/moby_dick.js';
import { machineDescription } from '../machine.js';
import { attentionLabel } from '../options.js';
import { mobyDickTask } from '../tasks/moby_dick.js';
import { formatCount } from '../ui/format.js';
import { ProgressDisplay } from '../ui/progress.js';
import { printTable } from '../ui/table.js';
import { streamGeneration } from './generate.js';

export interface BenchCommandOptions {
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
  seed: number;
}

interface BenchResult {
  label: string;
  parameters: number;
  trainMsPerStep: number;
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
  };
  const prompt = splits.test.text.slice(0, options.promptLength);
  const results: BenchResult[] = [];
  for (const attention of options.attention) {
    const label = attentionLabel(attention);
    const trainConfig: CharLMConfig = {
      ...shape,
      maxLength: options.trainContext ?? defaults.maxLength,
      attention,
    };
    const trainee = createModel(trainConfig, { seed: options.seed });
    const parameters = trainee.parameterCount();
    const stepTimes: Array<{ step: number; elapsedMs: number }> = [];
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
          onProgress: (event) => {
            stepTimes.push({ step: event.step, elapsedMs: event.elapsedMs });
            progress.update({ step: event.step, loss: event.loss });
          },
        },
      );
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
        decodeTokensPerSecond: timing.decodeTokensPerSecond,
        firstTokenMs: timing.firstTokenMs,
      });
    } finally {
      generator.dispose();
    }
  }
  const softmax = results.find((result) => result.label === 'softmax');
  printTable(
    `char LM speed, dModel ${shape.dModel}, ${shape.numLayers} layers; training: batch ${options.batchSize} × ${options.trainContext ?? defaults.maxLength} chars, ` +
      `mean of steps 2–${options.trainSteps}; generation: ${options.tokens} tokens after a ${prompt.length}-char prompt (context ${options.context}); ` +
      `backend ${backend.name} (${backend.eaKernels}); ${machineDescription()}`,
    [
      'attention',
      'parameters',
      'train ms/step',
      'train chars/s',
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
}
