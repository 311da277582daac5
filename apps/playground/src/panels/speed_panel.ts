import type { SpeedResult } from '../shared/protocol.js';
import { parseLengths } from '../shared/speed_plan.js';
import { LineChart } from '../ui/line_chart.js';
import { onSubmit, panel } from '../ui/panel.js';
import { type AppContext, numberField } from './app_context.js';

const SERIES: Array<{
  attention: SpeedResult['attention'];
  pass: SpeedResult['pass'];
  label: string;
  color: string;
  dash?: number[];
}> = [
  { attention: 'ea6', pass: 'forward', label: 'EA-6 forward', color: '#0b5cad' },
  { attention: 'softmax', pass: 'forward', label: 'softmax forward', color: '#c2410c' },
  {
    attention: 'ea6',
    pass: 'forward+backward',
    label: 'EA-6 forward+backward',
    color: '#0b5cad',
    dash: [6, 4],
  },
  {
    attention: 'softmax',
    pass: 'forward+backward',
    label: 'softmax forward+backward',
    color: '#c2410c',
    dash: [6, 4],
  },
];

/** Panel 2: EA-6 against softmax attention on this device, as a log-log chart and JSON. */
export function setUpSpeedPanel(app: AppContext): void {
  const { messages, elements } = panel('speed', {
    form: HTMLFormElement,
    lengths: HTMLInputElement,
    budget: HTMLInputElement,
    run: HTMLButtonElement,
    copy: HTMLButtonElement,
    chart: HTMLElement,
    notes: HTMLElement,
    json: HTMLTextAreaElement,
  });
  const { form, lengths: lengthsInput, budget, run, copy, notes, json } = elements;
  lengthsInput.value = app.options.lengths.join(', ');
  budget.value = String(app.options.budgetSeconds);
  const chart = new LineChart(elements.chart, {
    xLabel: 'sequence length L',
    yLabel: 'milliseconds',
    logarithmic: true,
    series: SERIES,
    height: 320,
  });

  onSubmit(form, run, messages, async () => {
    copy.disabled = true;
    notes.replaceChildren();
    json.value = '';
    const results: SpeedResult[] = [];
    const lengths = parseLengths(lengthsInput.value);
    if (!lengths)
      throw new Error('Lengths must be a comma-separated list of integers from 1 to 65536.');
    const budgetSeconds = numberField(budget, 'Budget per run');
    const backend = await app.backend();
    messages.running(`Measuring on ${backend.active}…`);
    chart.update(
      lengths,
      SERIES.map(() => lengths.map(() => null)),
    );
    await app.client().request({ kind: 'speed', lengths, budgetSeconds }, (event) => {
      if (event.kind !== 'speed-result') return;
      const result = event.result;
      results.push(result);
      const ys = SERIES.map((s) =>
        lengths.map(
          (length) =>
            results.find(
              (r) => r.attention === s.attention && r.pass === s.pass && r.length === length,
            )?.milliseconds ?? null,
        ),
      );
      chart.update(lengths, ys);
      const label = SERIES.find(
        (s) => s.attention === result.attention && s.pass === result.pass,
      )?.label;
      if (result.milliseconds !== undefined) {
        messages.status(`${label} at L = ${result.length}: ${result.milliseconds.toFixed(1)} ms`);
      } else {
        const note = document.createElement('li');
        note.textContent = `${label}, L = ${result.length}: ${result.skipped ?? `failed: ${result.failed}`}`;
        notes.append(note);
      }
    });
    json.value = JSON.stringify(
      {
        backend: backend.active,
        kernels: backend.kernels,
        userAgent: navigator.userAgent,
        measuredAt: new Date().toISOString(),
        setup:
          'causal, batch 1; EA-6 over 64 channels; softmax over 4 heads of 16 channels; median of 3 runs after a warm-up (1 run when a run takes over 1 s)',
        results,
      },
      null,
      2,
    );
    copy.disabled = false;
    const measured = results.filter((r) => r.milliseconds !== undefined).length;
    messages.done(`Done: ${measured} of ${results.length} measurements on ${backend.active}.`);
  });

  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(json.value);
      messages.status('Copied the results as JSON.');
    } catch {
      // Clipboard access can be refused (permissions, no focus): leave the text ready to copy.
      const details = json.closest('details');
      if (details) details.open = true;
      json.focus();
      json.select();
      messages.status(
        'The browser refused clipboard access: the JSON is selected below, copy it with Ctrl+C.',
      );
    }
  });
}
