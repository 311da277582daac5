import { type CharLM, fromPretrained, listPretrained } from '@elementwise/models';

export type LoadProgress = (model: string, fraction: number) => void;

/**
 * The shipped char LMs this worker has loaded, by name; each loads once (concurrent requests
 * share the load) with `fromPretrained` from `<baseUrl><name>/model.json`, which checks the
 * weights files a model.json names and reports the download's progress.
 */
export class PretrainedModels {
  private readonly loading = new Map<string, Promise<CharLM>>();

  constructor(private readonly baseUrl: string) {}

  get(name: string, onProgress: LoadProgress): Promise<CharLM> {
    let model = this.loading.get(name);
    if (!model) {
      model = this.load(name, onProgress);
      this.loading.set(name, model);
      // A failed load is not cached: the next request tries again.
      model.catch(() => this.loading.delete(name));
    }
    return model;
  }

  private async load(name: string, onProgress: LoadProgress): Promise<CharLM> {
    if (!listPretrained().some((entry) => entry.name === name && entry.task === 'char-lm')) {
      throw new Error(`${name} is not a pretrained char LM of this @elementwise/models version`);
    }
    try {
      const model = await fromPretrained(name, {
        baseUrl: this.baseUrl,
        onProgress: (fraction) => onProgress(name, fraction),
      });
      return model as CharLM;
    } catch (error) {
      throw new Error(
        `the weights of ${name} failed to load: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
