import {
  type AttentionConfig,
  type CharLM,
  type CharLMConfig,
  createModel,
} from '@elementwise/models';
import { type BackendName, useBackend } from '../backend.js';
import { characterVocabulary, loadMobyDick } from '../data/moby_dick.js';
import { machineDescription } from '../machine.js';
import { attentionLabel, type EaFlags, withEaFlags } from '../options.js';
import { mobyDickTask } from '../tasks/moby_dick.js';
import { formatCount } from '../ui/format.js';
import { printTable } from '../ui/table.js';
import { type ContextSweepRow, contextSweep, WASM_HEAP_BYTES } from './context_sweep.js';
import { streamGeneration } from './generate.js';
import { measureTraining } from './training_measurement.js';

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
  /** Training only, at each of these contexts (a sweep), instead of one context and generation. */
  trainContexts?: number[];
  maxStepSeconds: number;
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
  if (options.trainContexts) {
    const attentions = withEaFlags(options.attention, options);
    const rows = await contextSweep(
      attentions,
      (attention, maxLength) => ({ ...shape, maxLength, attention }),
      splits.train,
      {
        ...options,
        contexts: options.trainContexts,
        heapBytes: backend.name === 'wasm' ? WASM_HEAP_BYTES : null,
      },
    );
    printContextSweep(rows, options, shape, backend);
    return;
  }
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
    const {
      parameters,
      msPerStep: trainMsPerStep,
      stepPeakBytes,
    } = await measureTraining(trainConfig, splits.train, options, label);

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

function printContextSweep(
  rows: ContextSweepRow[],
  options: BenchCommandOptions,
  shape: { dModel: number; numLayers: number; shortConv: number; outputGate: boolean },
  backend: Awaited<ReturnType<typeof useBackend>>,
): void {
  const softmax = new Map(
    rows.filter((row) => row.label === 'softmax').map((row) => [row.length, row]),
  );
  printTable(
    `char LM training by context, dModel ${shape.dModel}, ${shape.numLayers} layers, batch ${options.batchSize}, mean of steps 2–${options.trainSteps}${options.recompute ? ', blocks recomputed in the backward pass' : ''}; ` +
      `peak tensor bytes of one more step above the resident weights; a context predicted not to fit or to be too slow is skipped and its prediction shown; backend ${backend.name} (${backend.eaKernels}); ${machineDescription()}`,
    [
      'attention',
      'context',
      'train ms/step',
      'train chars/s',
      'step peak MB',
      'KB per train token',
      ...(softmax.size > 0 ? ['train speed ÷ softmax'] : []),
      'note',
    ],
    rows.map((row) => {
      const tokens = options.batchSize * row.length;
      const twin = softmax.get(row.length);
      const predicted = row.skipped !== undefined || twin?.skipped !== undefined;
      return [
        row.label,
        formatCount(row.length),
        row.msPerStep.toFixed(0),
        formatCount(Math.round((tokens * 1000) / row.msPerStep)),
        (row.stepPeakBytes / 2 ** 20).toFixed(1),
        (row.stepPeakBytes / 1024 / tokens).toFixed(1),
        ...(softmax.size > 0
          ? [twin ? `${predicted ? '~' : ''}${(twin.msPerStep / row.msPerStep).toFixed(2)}` : '']
          : []),
        row.skipped === undefined ? 'measured' : `skipped: ${row.skipped}`,
      ];
    }),
  );
}
