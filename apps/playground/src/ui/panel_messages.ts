/**
 * What a panel tells the user: a status line and an error box, and the panel's `data-state`
 * (idle, running, done, error), which also lets a test wait for a panel without guessing.
 */
export class PanelMessages {
  private readonly errorBox: HTMLElement;
  private readonly statusLine: HTMLElement | null;

  constructor(
    private readonly panel: HTMLElement,
    prefix: string,
  ) {
    this.errorBox = byId(`${prefix}-error`);
    this.statusLine = document.getElementById(`${prefix}-status`);
  }

  running(status = ''): void {
    this.panel.dataset.state = 'running';
    this.errorBox.hidden = true;
    this.errorBox.textContent = '';
    this.status(status);
  }

  done(status?: string): void {
    this.panel.dataset.state = 'done';
    if (status !== undefined) this.status(status);
  }

  status(text: string): void {
    if (this.statusLine) this.statusLine.textContent = text;
  }

  error(error: unknown): void {
    this.panel.dataset.state = 'error';
    this.errorBox.hidden = false;
    this.errorBox.textContent = error instanceof Error ? error.message : String(error);
  }
}

/** The element with this id; throws naming it when the page lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no element #${id}`);
  return element as T;
}
