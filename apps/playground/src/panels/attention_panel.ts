import { eaWeights, meanPeakWeight, softmaxWeights } from '../shared/attention_weights.js';
import { MOBY_DICK_EXCERPT } from '../shared/moby_dick_excerpt.js';
import { PRETRAINED_PAIRS } from '../shared/pretrained_pairs.js';
import type { AttentionResult } from '../shared/protocol.js';
import { drawHeatMap } from '../ui/heat_map.js';
import { onSubmit, panel } from '../ui/panel.js';
import type { AppContext } from './app_context.js';

interface HeatMapSlot {
  canvas: HTMLCanvasElement;
  caption: HTMLElement;
}

function heatMapSlot(container: HTMLElement, id: string): HeatMapSlot {
  const figure = document.createElement('figure');
  const canvas = document.createElement('canvas');
  canvas.id = `heat-map-${id}`;
  canvas.className = 'heat-map';
  const caption = document.createElement('figcaption');
  figure.append(canvas, caption);
  container.append(figure);
  return { canvas, caption };
}

/** The number input's value clamped to [0, max], written back so the field shows what is drawn. */
function clampedIndex(input: HTMLInputElement, max: number): number {
  const value = Math.min(max, Math.max(0, Math.round(input.valueAsNumber || 0)));
  input.max = String(max);
  input.value = String(value);
  return value;
}

/**
 * Panel 3: attention weights from the pretrained models' real queries and keys for a prompt:
 * exact EA, EA-2 and EA-6 of one EA channel group, and one softmax head.
 */
export function setUpAttentionPanel(app: AppContext): void {
  const { messages, elements } = panel('attention', {
    form: HTMLFormElement,
    view: HTMLFormElement,
    pair: HTMLSelectElement,
    prompt: HTMLTextAreaElement,
    layer: HTMLSelectElement,
    group: HTMLInputElement,
    groupLabel: HTMLElement,
    head: HTMLInputElement,
    run: HTMLButtonElement,
    maps: HTMLElement,
  });
  const { form, view, pair: pairSelect, prompt, layer: layerSelect, group, groupLabel } = elements;
  const { head, run: button, maps } = elements;
  prompt.value = MOBY_DICK_EXCERPT.slice(0, 129);
  for (const [index, pair] of PRETRAINED_PAIRS.entries()) {
    pairSelect.add(new Option(pair.label, String(index)));
  }
  const slots = {
    exact: heatMapSlot(maps, 'ea-exact'),
    ea2: heatMapSlot(maps, 'ea-2'),
    ea6: heatMapSlot(maps, 'ea-6'),
    softmax: heatMapSlot(maps, 'softmax'),
  };
  let result: AttentionResult | null = null;

  function draw(): void {
    if (!result) return;
    const layer = Number(layerSelect.value);
    const ea = result.ea.layers[layer];
    const softmax = result.softmax.layers[layer];
    const groupSize = result.ea.groupSize;
    const groupIndex = clampedIndex(group, ea.width / groupSize - 1);
    const headIndex = clampedIndex(head, result.softmax.numHeads - 1);
    const what =
      groupSize === 1
        ? `channel ${groupIndex}`
        : `channels ${groupIndex * groupSize}–${groupIndex * groupSize + groupSize - 1}`;
    const cells: Array<[HeatMapSlot, Float64Array, string]> = [
      [
        slots.exact,
        eaWeights(ea, { groupSize, group: groupIndex, order: 'exact' }),
        `Exact EA, ${what}`,
      ],
      [
        slots.ea2,
        eaWeights(ea, { groupSize, group: groupIndex, order: 2 }),
        `EA-2 (Taylor order 2), ${what}`,
      ],
      [
        slots.ea6,
        eaWeights(ea, { groupSize, group: groupIndex, order: 6 }),
        `EA-6 (Taylor order 6), ${what}`,
      ],
      [
        slots.softmax,
        softmaxWeights(softmax, { numHeads: result.softmax.numHeads, head: headIndex }),
        `Softmax, head ${headIndex}`,
      ],
    ];
    for (const [slot, weights, title] of cells) {
      const length = Math.round(Math.sqrt(weights.length));
      drawHeatMap(slot.canvas, weights, length);
      slot.canvas.setAttribute('role', 'img');
      slot.canvas.setAttribute(
        'aria-label',
        `${title}, layer ${layer}: ${length} queries by ${length} keys`,
      );
      slot.caption.textContent = `${title}, layer ${layer}. Mean largest weight per query: ${meanPeakWeight(weights, length).toFixed(3)}`;
    }
  }

  onSubmit(form, button, messages, async () => {
    messages.running('Loading the models and reading their queries and keys…');
    const pair = PRETRAINED_PAIRS[Number(pairSelect.value)];
    result = (await app.client().request({
      kind: 'attention',
      eaModel: pair.ea,
      softmaxModel: pair.softmax,
      prompt: prompt.value,
    })) as AttentionResult;
    layerSelect.replaceChildren(
      ...result.ea.layers.map((l) => new Option(`block ${l.layer}`, String(l.layer))),
    );
    groupLabel.textContent =
      result.ea.groupSize === 1
        ? 'EA channel'
        : `EA channel group (${result.ea.groupSize} channels each)`;
    view.hidden = false;
    draw();
    messages.done(
      `${Array.from(result.text).length - 1} characters of the prompt, as the models read it.`,
    );
  });
  view.addEventListener('submit', (event) => event.preventDefault());
  view.addEventListener('input', () => {
    try {
      draw();
    } catch (error) {
      messages.error(error);
    }
  });
}
