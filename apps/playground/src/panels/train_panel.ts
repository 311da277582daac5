import { MOBY_DICK_EXCERPT } from '../shared/moby_dick_excerpt.js';
import type { TrainedModelSummary, TrainResultSummary } from '../shared/protocol.js';
import { LineChart } from '../ui/line_chart.js';
import { panel } from '../ui/panel.js';
import { type AppContext, numberField, randomSeed } from './app_context.js';

/** Panel 4: train a tiny char LM here, save it to IndexedDB, reload it, generate from it. */
export function setUpTrainPanel(app: AppContext): void {
  const { messages, elements } = panel('train', {
    form: HTMLFormElement,
    text: HTMLTextAreaElement,
    steps: HTMLInputElement,
    run: HTMLButtonElement,
    stop: HTMLButtonElement,
    save: HTMLButtonElement,
    load: HTMLButtonElement,
    chart: HTMLElement,
    generateForm: HTMLFormElement,
    prompt: HTMLInputElement,
    temperature: HTMLInputElement,
    generate: HTMLButtonElement,
    output: HTMLElement,
  });
  const { form, text, steps, run, stop, save, load, generateForm, prompt } = elements;
  const { temperature, generate, output } = elements;
  text.value = MOBY_DICK_EXCERPT;
  steps.value = String(app.options.trainSteps);
  const chart = new LineChart(elements.chart, {
    xLabel: 'step',
    yLabel: 'loss (nats/char)',
    logarithmic: false,
    series: [{ label: 'training loss', color: '#0b5cad' }],
    height: 240,
  });
  const history = { steps: [] as number[], losses: [] as number[] };

  /** Runs one action with every button of the panel off, then turns on what now makes sense. */
  async function busy<T>(
    action: () => Promise<T>,
    hasModel: boolean | null,
  ): Promise<T | undefined> {
    for (const button of [run, save, load, generate]) button.disabled = true;
    try {
      return await action();
    } catch (error) {
      messages.error(error);
      return undefined;
    } finally {
      run.disabled = false;
      load.disabled = false;
      if (hasModel !== null) {
        save.disabled = !hasModel;
        generate.disabled = !hasModel;
      }
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    let trained = false;
    void busy(async () => {
      const stepCount = numberField(steps, 'Steps');
      history.steps = [];
      history.losses = [];
      chart.update([], [[]]);
      output.textContent = '';
      messages.running('Building the model…');
      stop.disabled = false;
      try {
        const result = (await app
          .client()
          .request(
            { kind: 'train', text: text.value, steps: stepCount, seed: randomSeed() },
            (progress) => {
              if (progress.kind !== 'train-progress') return;
              history.steps.push(progress.step);
              history.losses.push(progress.loss);
              chart.update(history.steps, [history.losses]);
              messages.status(
                `step ${progress.step} of ${progress.steps}: loss ${progress.loss.toFixed(3)} (${(progress.elapsedMs / 1000).toFixed(1)} s)`,
              );
            },
          )) as TrainResultSummary;
        trained = result.steps > 0;
        messages.done(
          `${result.stopped ? 'Stopped' : 'Finished'} after ${result.steps} steps: loss ${result.firstLoss.toFixed(3)} → ${result.lastLoss.toFixed(3)}.`,
        );
      } finally {
        stop.disabled = true;
      }
    }, null).then(() => {
      save.disabled = !trained;
      generate.disabled = !trained;
    });
  });

  stop.addEventListener('click', () => {
    stop.disabled = true;
    messages.status('Stopping after this step…');
    app
      .client()
      .request({ kind: 'stop-training' })
      .catch((error) => messages.error(error));
  });

  save.addEventListener('click', () => {
    void busy(async () => {
      messages.running('Saving…');
      const { loss } = (await app.client().request({ kind: 'save-trained' })) as { loss: number };
      messages.done(
        `Saved to this browser's IndexedDB. Loss on the training text: ${loss.toFixed(4)}.`,
      );
    }, true);
  });

  load.addEventListener('click', () => {
    let loaded = false;
    void busy(async () => {
      messages.running('Reloading the saved model…');
      const summary = (await app
        .client()
        .request({ kind: 'load-trained' })) as TrainedModelSummary & {
        loss: number | null;
      };
      loaded = true;
      const loss =
        summary.loss === null ? '' : ` Loss on the training text: ${summary.loss.toFixed(4)}.`;
      messages.done(
        `Reloaded from IndexedDB: ${summary.parameters.toLocaleString('en')} parameters, ${summary.vocabularySize} tokens.${loss}`,
      );
    }, null).then(() => {
      if (loaded) {
        save.disabled = false;
        generate.disabled = false;
      }
    });
  });

  generateForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(async () => {
      if (prompt.value.length === 0) throw new Error('Write a prompt to continue.');
      messages.running('Generating…');
      output.textContent = prompt.value;
      await app.client().request(
        {
          kind: 'generate-trained',
          prompt: prompt.value,
          temperature: numberField(temperature, 'Temperature'),
          maxTokens: app.options.maxTokens,
          seed: 1,
        },
        (event) => {
          if (event.kind === 'token') output.textContent += event.text;
        },
      );
      messages.done(`Generated ${app.options.maxTokens} characters.`);
    }, true);
  });
}
