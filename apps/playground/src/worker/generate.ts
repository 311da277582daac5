import type { CharLM } from '@elementwise/models';
import type { WorkerEvent } from '../shared/protocol.js';

export interface StreamOptions {
  prompt: string;
  temperature: number;
  maxTokens: number;
  seed: number;
}

/**
 * Generates from several models at once, one character of each in turn, so their texts stream
 * side by side; reports each model's time to first character (prefill + first sample) and its
 * characters per second after that.
 */
export async function streamGeneration(
  models: Array<{ name: string; model: CharLM }>,
  options: StreamOptions,
  emit: (event: WorkerEvent) => void,
): Promise<void> {
  const runs = models.map(({ name, model }) => ({
    name,
    tokens: model.generate(options.prompt, {
      maxTokens: options.maxTokens,
      temperature: options.temperature,
      seed: options.seed,
    }),
    elapsedMs: 0,
    firstTokenMs: 0,
    produced: 0,
    done: false,
  }));
  try {
    while (runs.some((run) => !run.done)) {
      for (const run of runs) {
        if (run.done) continue;
        const start = performance.now();
        const next = await run.tokens.next();
        run.elapsedMs += performance.now() - start;
        if (next.done) {
          run.done = true;
          const rest = run.elapsedMs - run.firstTokenMs;
          emit({
            kind: 'generation-stats',
            model: run.name,
            firstTokenMs: run.firstTokenMs,
            tokensPerSecond: run.produced > 1 ? ((run.produced - 1) * 1000) / rest : 0,
          });
          continue;
        }
        run.produced += 1;
        if (run.produced === 1) run.firstTokenMs = run.elapsedMs;
        emit({ kind: 'token', model: run.name, text: next.value });
      }
    }
  } finally {
    // Ends generators left open by an error, which disposes their sessions.
    await Promise.all(runs.filter((run) => !run.done).map((run) => run.tokens.return(undefined)));
  }
}
