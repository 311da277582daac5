import { PRETRAINED_PAIRS } from '../shared/pretrained_pairs.js';
import type { WorkerEvent } from '../shared/protocol.js';
import { onSubmit, panel } from '../ui/panel.js';
import { type AppContext, numberField, randomSeed } from './app_context.js';

interface OutputCard {
  progress: HTMLProgressElement;
  loadLine: HTMLElement;
  text: HTMLElement;
  stats: HTMLElement;
}

function outputCard(
  container: HTMLElement,
  model: string,
  title: string,
  prompt: string,
): OutputCard {
  const card = document.createElement('article');
  card.className = 'output-card';
  card.dataset.model = model;
  const heading = document.createElement('h3');
  heading.textContent = title;
  const name = document.createElement('p');
  name.className = 'hint';
  name.textContent = model;
  const progress = document.createElement('progress');
  progress.setAttribute('aria-label', `Download of ${model}`);
  const loadLine = document.createElement('p');
  loadLine.className = 'status';
  loadLine.textContent = 'waiting for the weights…';
  const pre = document.createElement('pre');
  pre.setAttribute('aria-live', 'off');
  const promptSpan = document.createElement('span');
  promptSpan.className = 'prompt-text';
  promptSpan.textContent = prompt;
  const text = document.createElement('span');
  text.className = 'generated-text';
  pre.append(promptSpan, text);
  const stats = document.createElement('p');
  stats.className = 'status generation-stats';
  card.append(heading, name, progress, loadLine, pre, stats);
  container.append(card);
  return { progress, loadLine, text, stats };
}

/** Panel 1: pretrained EA and softmax char LMs continue a prompt, streaming side by side. */
export function setUpGeneratePanel(app: AppContext): void {
  const { messages, elements } = panel('generate', {
    form: HTMLFormElement,
    pair: HTMLSelectElement,
    which: HTMLSelectElement,
    prompt: HTMLTextAreaElement,
    temperature: HTMLInputElement,
    maxTokens: HTMLInputElement,
    run: HTMLButtonElement,
    outputs: HTMLElement,
  });
  const { form, pair: pairSelect, which, prompt, temperature, maxTokens, run, outputs } = elements;
  maxTokens.value = String(app.options.maxTokens);
  for (const [index, pair] of PRETRAINED_PAIRS.entries()) {
    pairSelect.add(new Option(pair.label, String(index)));
  }

  onSubmit(form, run, messages, async () => {
    outputs.replaceChildren();
    messages.running();
    const pair = PRETRAINED_PAIRS[Number(pairSelect.value)];
    const request = {
      kind: 'generate' as const,
      prompt: prompt.value,
      temperature: numberField(temperature, 'Temperature'),
      maxTokens: numberField(maxTokens, 'Characters'),
      seed: randomSeed(),
      models: [] as string[],
    };
    if (request.prompt.length === 0) throw new Error('Write a prompt to continue.');
    const cards = new Map<string, OutputCard>();
    if (which.value !== 'softmax') request.models.push(pair.ea);
    if (which.value !== 'ea') request.models.push(pair.softmax);
    for (const model of request.models) {
      const title = model === pair.ea ? 'Element-wise attention' : 'Softmax attention (twin)';
      cards.set(model, outputCard(outputs, model, title, request.prompt));
    }
    await app.client().request(request, (event: WorkerEvent) => {
      if (!('model' in event)) return;
      const card = cards.get(event.model);
      if (!card) return;
      if (event.kind === 'load-progress') {
        card.progress.max = 1;
        card.progress.value = event.fraction;
        card.loadLine.textContent = `downloading weights: ${Math.round(event.fraction * 100)} %`;
      } else if (event.kind === 'model-loaded') {
        card.progress.max = 1;
        card.progress.value = 1;
        card.loadLine.textContent = `loaded: ${event.parameters.toLocaleString('en')} parameters`;
      } else if (event.kind === 'token') {
        card.text.textContent += event.text;
      } else if (event.kind === 'generation-stats') {
        card.stats.textContent = `first character after ${event.firstTokenMs.toFixed(0)} ms (prefill of the prompt) · then ${event.tokensPerSecond.toFixed(1)} characters/s`;
      }
    });
    messages.done();
  });
}
