import {
  type CharLM,
  createModel,
  evaluate,
  loadModel,
  saveModel,
  train,
} from '@elementwise/models';
import {
  TRAINED_MODEL_URL,
  type TrainedModelSummary,
  type TrainResultSummary,
  type WorkerEvent,
} from '../shared/protocol.js';

/** A char LM small enough to learn something in a few hundred steps on any backend. */
function tinyCharLM(text: string, seed: number): CharLM {
  const vocabulary = [...new Set(Array.from(text))].sort().join('');
  return createModel(
    {
      task: 'char-lm',
      vocabulary,
      dModel: 64,
      numHeads: 4,
      numLayers: 1,
      ffMultiplier: 2,
      dropout: 0,
      maxLength: 32,
      attention: { kind: 'ea', order: 6 },
    },
    { seed },
  );
}

/** Training runs on text windows of the model's length; the shortest text that gives one. */
const MIN_TEXT_CHARACTERS = 64;

/**
 * The training panel's model: trained here, saved to and reloaded from IndexedDB, generated
 * from. One at a time; a new training run replaces it.
 */
export class TrainingSession {
  private model: CharLM | null = null;
  private text = '';
  private abort: AbortController | null = null;
  private source: TrainedModelSummary['source'] = 'trained';

  async train(
    text: string,
    steps: number,
    seed: number,
    emit: (event: WorkerEvent) => void,
  ): Promise<TrainResultSummary> {
    if (this.abort) throw new Error('a training run is already going; stop it first');
    if (Array.from(text).length < MIN_TEXT_CHARACTERS) {
      throw new Error(`the training text needs at least ${MIN_TEXT_CHARACTERS} characters`);
    }
    this.model?.dispose();
    this.model = tinyCharLM(text, seed);
    this.text = text;
    this.source = 'trained';
    this.abort = new AbortController();
    const losses: number[] = [];
    try {
      const result = await train(
        this.model,
        { train: { kind: 'text', text } },
        {
          steps,
          batchSize: 8,
          learningRate: 0.01,
          warmupSteps: Math.min(10, Math.floor(steps / 10)),
          minLearningRate: 0.001,
          clipNorm: 1,
          seed,
          signal: this.abort.signal,
          onProgress: (progress) => {
            losses.push(progress.loss);
            emit({
              kind: 'train-progress',
              step: progress.step,
              steps: progress.steps,
              loss: progress.loss,
              elapsedMs: progress.elapsedMs,
            });
          },
        },
      );
      return {
        steps: result.history.length,
        stopped: result.stopped === 'aborted',
        firstLoss: losses[0] ?? Number.NaN,
        lastLoss: losses[losses.length - 1] ?? Number.NaN,
      };
    } finally {
      this.abort = null;
    }
  }

  stop(): boolean {
    this.abort?.abort();
    return this.abort !== null;
  }

  /** Saves the model to IndexedDB; returns its loss on the training text. */
  async save(): Promise<{ loss: number }> {
    const model = this.current('save');
    await saveModel(model, TRAINED_MODEL_URL);
    return { loss: (await evaluate(model, { kind: 'text', text: this.text })).loss };
  }

  /** Replaces the model with the one saved in IndexedDB; returns its loss on the training text. */
  async load(): Promise<TrainedModelSummary & { loss: number | null }> {
    let loaded: Awaited<ReturnType<typeof loadModel>>;
    try {
      loaded = await loadModel(TRAINED_MODEL_URL);
    } catch (error) {
      throw new Error(
        `no model could be loaded from ${TRAINED_MODEL_URL} (train and save one first): ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (loaded.task !== 'char-lm') {
      loaded.dispose();
      throw new Error(`${TRAINED_MODEL_URL} holds a ${loaded.task} model, not a char LM`);
    }
    this.model?.dispose();
    this.model = loaded;
    this.source = 'indexeddb';
    const loss = this.text
      ? (await evaluate(loaded, { kind: 'text', text: this.text })).loss
      : null;
    return { ...this.summary(loaded), loss };
  }

  async *generate(
    prompt: string,
    options: { maxTokens: number; temperature: number; seed: number },
  ): AsyncGenerator<string> {
    yield* this.current('generate from').generate(prompt, options);
  }

  private summary(model: CharLM): TrainedModelSummary {
    return {
      parameters: model.parameterCount(),
      vocabularySize: model.vocabularySize,
      source: this.source,
    };
  }

  private current(action: string): CharLM {
    if (this.abort) throw new Error(`training is still running; stop it before you ${action} it`);
    if (!this.model)
      throw new Error(`there is no model to ${action}: train one or reload a saved one`);
    return this.model;
  }
}
