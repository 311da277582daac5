import { type CharLM, queriesAndKeys } from '@elementwise/models';
import type { LayerQueryKey } from '../shared/protocol.js';

/**
 * The prompt as a char LM reads it for inspection: its last maxLength + 1 characters, as
 * maxLength input ids and the next-character targets.
 */
export function inspectedText(model: CharLM, prompt: string): string {
  const characters = Array.from(prompt);
  if (characters.length < 2) throw new Error('the prompt needs at least 2 characters');
  return characters.slice(-(model.maxLength + 1)).join('');
}

/**
 * Every attention layer's real queries and keys for `text` (from `queriesAndKeys` of
 * `@elementwise/models`): what EA compares per channel, or softmax per head.
 */
export async function layerQueriesAndKeys(model: CharLM, text: string): Promise<LayerQueryKey[]> {
  const ids = model.encode(text);
  const length = ids.length - 1;
  const layers = await queriesAndKeys(
    model,
    { kind: 'tokens', inputs: ids.slice(0, length), targets: ids.slice(1), length },
    { examples: 1 },
  );
  return layers.map(({ layer, query, key, shape }) => ({
    layer,
    query,
    key,
    length: shape[1],
    width: shape[2],
  }));
}
