import type { CharLM } from '@elementwise/models';
import { type BackendName, useBackend } from '../backend.js';
import { forEachModel } from '../model_source.js';
import { attentionLabel } from '../options.js';
import { formatCount } from '../ui/format.js';
import { printTable } from '../ui/table.js';

export const DEFAULT_PROMPT = 'Call me Ishmael. ';

export interface GenerateCommandOptions {
  model?: string[];
  pretrained?: string[];
  prompt: string;
  maxTokens: number;
  temperature: number;
  topK?: number;
  seed: number;
  backend: BackendName;
}

export interface GenerationTiming {
  tokens: number;
  /** From the call to the first generated character: prompt prefill plus one step. */
  firstTokenMs: number;
  /** Characters after the first, per second of decoding. */
  decodeTokensPerSecond: number;
  /** All characters over the whole call. */
  overallTokensPerSecond: number;
}

/** Streams a char LM's continuation of `prompt` to `write` as each character is produced. */
export async function streamGeneration(
  model: CharLM,
  prompt: string,
  options: { maxTokens: number; temperature: number; topK?: number; seed: number },
  write: (text: string) => void,
): Promise<GenerationTiming> {
  const started = performance.now();
  let firstAt = started;
  let tokens = 0;
  for await (const token of model.generate(prompt, options)) {
    if (tokens === 0) firstAt = performance.now();
    tokens += 1;
    write(token);
  }
  const ended = performance.now();
  return {
    tokens,
    firstTokenMs: firstAt - started,
    decodeTokensPerSecond: tokens > 1 ? ((tokens - 1) * 1000) / (ended - firstAt) : Number.NaN,
    overallTokensPerSecond: (tokens * 1000) / (ended - started),
  };
}

export async function generateCommand(options: GenerateCommandOptions): Promise<void> {
  const backend = await useBackend(options.backend);
  const rows: string[][] = [];
  await forEachModel(options, async ({ model, label }) => {
    if (model.task !== 'char-lm') {
      throw new Error(`${label} is a ${model.task} model; generate needs a char-lm model`);
    }
    const name = `${attentionLabel(model.config.attention)} (${label})`;
    process.stdout.write(`\n── ${name}, ${formatCount(model.parameterCount())} parameters ──\n`);
    process.stdout.write(options.prompt);
    const timing = await streamGeneration(
      model as CharLM,
      options.prompt,
      {
        maxTokens: options.maxTokens,
        temperature: options.temperature,
        seed: options.seed,
        ...(options.topK ? { topK: options.topK } : {}),
      },
      (text) => process.stdout.write(text),
    );
    process.stdout.write(
      `\n[${timing.tokens} tokens: ${timing.decodeTokensPerSecond.toFixed(1)} tokens/s decoding, ` +
        `first token after ${timing.firstTokenMs.toFixed(0)} ms, backend ${backend.name}]\n`,
    );
    rows.push([
      name,
      String(timing.tokens),
      timing.firstTokenMs.toFixed(0),
      timing.decodeTokensPerSecond.toFixed(1),
      timing.overallTokensPerSecond.toFixed(1),
    ]);
  });
  if (rows.length > 1) {
    printTable(
      `generation speed, prompt of ${options.prompt.length} characters, backend ${backend.name}`,
      ['model', 'tokens', 'first token ms', 'decode tokens/s', 'overall tokens/s'],
      rows,
    );
  }
}
