import cliProgress from 'cli-progress';
import { formatDuration } from './format.js';

export interface ProgressUpdate {
  step: number;
  loss: number;
  learningRate?: number;
  tokensPerSecond?: number;
  note?: string;
}

/**
 * Progress of a long job: a live bar with ETA and loss on a terminal; when stderr is not a
 * terminal (a log file), one line every `logEverySeconds` and at the end.
 */
export class ProgressDisplay {
  private readonly bar: cliProgress.SingleBar | null;
  private readonly started = Date.now();
  private lastLine = 0;

  constructor(
    private readonly total: number,
    private readonly unit: string,
    private readonly logEverySeconds = 30,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    if (stream.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `{bar} {percentage}% | ${unit} {value}/{total} | loss {loss} | {rate} | ETA {eta_formatted} | {note}`,
          stream,
          hideCursor: true,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { loss: '—', rate: '', note: '' });
    } else {
      this.bar = null;
    }
  }

  update(update: ProgressUpdate): void {
    const rate = update.tokensPerSecond ? `${Math.round(update.tokensPerSecond)} tok/s` : '';
    if (this.bar) {
      this.bar.update(update.step, { loss: update.loss.toFixed(4), rate, note: update.note ?? '' });
      return;
    }
    const now = Date.now();
    if (
      update.note ||
      now - this.lastLine >= this.logEverySeconds * 1000 ||
      update.step === this.total
    ) {
      this.lastLine = now;
      const elapsed = now - this.started;
      const eta =
        update.step > 0 ? (elapsed * (this.total - update.step)) / update.step : Number.NaN;
      const parts = [
        `${this.unit} ${update.step}/${this.total}`,
        `loss ${update.loss.toFixed(4)}`,
        update.learningRate !== undefined ? `lr ${update.learningRate.toExponential(2)}` : '',
        rate,
        `elapsed ${formatDuration(elapsed)}`,
        `ETA ${formatDuration(eta)}`,
        update.note ?? '',
      ];
      process.stderr.write(`${parts.filter(Boolean).join(' | ')}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
