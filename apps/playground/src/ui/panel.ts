import { byId, PanelMessages } from './panel_messages.js';

type ElementKinds = Record<string, { new (): HTMLElement; prototype: HTMLElement }>;
type Elements<Kinds extends ElementKinds> = { [Name in keyof Kinds]: Kinds[Name]['prototype'] };

/**
 * A panel of the page, `#<prefix>-panel`: its messages and its elements. Each element `name` is
 * `#<prefix>-<name in kebab case>` and must be of the kind given (`HTMLSelectElement`, ...), so a
 * page that drifts from the code fails at start-up naming the element.
 */
export function panel<const Kinds extends ElementKinds>(
  prefix: string,
  kinds: Kinds,
): { messages: PanelMessages; elements: Elements<Kinds> } {
  const elements: Record<string, HTMLElement> = {};
  for (const [name, kind] of Object.entries(kinds)) {
    const id = `${prefix}-${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
    const element = byId(id);
    const tag = element.localName;
    if (!(element instanceof kind)) {
      throw new Error(`the page's #${id} is a <${tag}>, not a ${kind.name}`);
    }
    elements[name] = element;
  }
  return {
    messages: new PanelMessages(byId(`${prefix}-panel`), prefix),
    elements: elements as Elements<Kinds>,
  };
}

/**
 * Runs `action` on each submit of `form`, with `button` off until it ends; what it throws is
 * shown as the panel's error.
 */
export function onSubmit(
  form: HTMLFormElement,
  button: HTMLButtonElement,
  messages: PanelMessages,
  action: () => Promise<void>,
): void {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      messages.error(error);
    } finally {
      button.disabled = false;
    }
  });
}
