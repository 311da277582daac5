import type { BackendDetails, BackendName } from '../shared/protocol.js';
import { byId } from '../ui/panel_messages.js';

const LABELS: Record<BackendName, string> = {
  webgpu: 'WebGPU',
  webgl: 'WebGL',
  wasm: 'WebAssembly (WASM)',
};

/**
 * Radio buttons for the three backends in detection order: the available ones selectable, each
 * unavailable one disabled with the reason beside it. Choosing one calls `onChoose`.
 */
export function showBackends(details: BackendDetails, onChoose: (name: BackendName) => void): void {
  const container = byId('backend-options');
  container.replaceChildren();
  for (const report of details.reports) {
    const label = document.createElement('label');
    label.className = 'backend-option';
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'backend';
    radio.value = report.name;
    radio.id = `backend-${report.name}`;
    radio.checked = report.name === details.active;
    radio.disabled = !report.available;
    radio.addEventListener('change', () => {
      if (radio.checked) onChoose(report.name);
    });
    label.append(radio, ` ${LABELS[report.name]}`);
    if (!report.available) {
      const reason = document.createElement('span');
      reason.className = 'reason';
      reason.textContent = `unavailable: ${report.reason}`;
      label.append(reason);
    }
    container.append(label);
  }
  const isolation = details.crossOriginIsolated
    ? 'cross-origin isolated: WASM may use threads'
    : 'not cross-origin isolated: WASM runs on one thread (see the README on hosting)';
  byId('backend-status').textContent =
    `Running on ${LABELS[details.active]}: ${details.kernels}. Page ${isolation}.`;
}

/** The picker while a worker starts, or after it failed. */
export function showBackendMessage(text: string, failed = false): void {
  const container = byId('backend-options');
  const paragraph = document.createElement('p');
  paragraph.textContent = text;
  if (failed) {
    paragraph.className = 'error';
    paragraph.setAttribute('role', 'alert');
  }
  container.replaceChildren(paragraph);
  byId('backend-status').textContent = '';
}
