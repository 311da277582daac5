import { resolve } from 'node:path';
import { fromPretrained, listPretrained, loadModel, type Model } from '@elementwise/models';

export interface LoadedModel {
  model: Model;
  /** What the tables call it: the directory or the pretrained name. */
  label: string;
}

/** `file://` URL of a local directory holding model.json and its weights. */
export function fileUrl(directory: string): string {
  return `file://${resolve(directory)}`;
}

/** Opens every model named by `--model <dir...>` and `--pretrained <name...>`, in that order. */
export async function openModels(options: {
  model?: string[];
  pretrained?: string[];
}): Promise<LoadedModel[]> {
  const directories = options.model ?? [];
  const names = options.pretrained ?? [];
  if (directories.length + names.length === 0) {
    throw new Error(
      'pass --model <dir> (a directory written by "elementwise train") or --pretrained <name>',
    );
  }
  const known = listPretrained().map((entry) => entry.name);
  for (const name of names) {
    if (!known.includes(name)) {
      throw new Error(
        `--pretrained: unknown model "${name}". Accepted: ${known.join(', ') || '(none shipped)'}.`,
      );
    }
  }
  const loaded: LoadedModel[] = [];
  for (const directory of directories) {
    try {
      loaded.push({ model: await loadModel(fileUrl(directory)), label: directory });
    } catch (error) {
      throw new Error(`--model ${directory}: ${(error as Error).message}`);
    }
  }
  for (const name of names) loaded.push({ model: await fromPretrained(name), label: name });
  return loaded;
}

/**
 * Opens the models of `--model` and `--pretrained` and visits each in turn; every model is
 * disposed afterwards, also when a visit throws.
 */
export async function forEachModel(
  options: { model?: string[]; pretrained?: string[] },
  visit: (loaded: LoadedModel) => Promise<void> | void,
): Promise<void> {
  const models = await openModels(options);
  try {
    for (const loaded of models) await visit(loaded);
  } finally {
    for (const { model } of models) model.dispose();
  }
}
