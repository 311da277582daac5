import './styles.css';
import type { AppContext } from './panels/app_context.js';
import { setUpAttentionPanel } from './panels/attention_panel.js';
import { showBackendMessage, showBackends } from './panels/backend_picker.js';
import { setUpGeneratePanel } from './panels/generate_panel.js';
import { setUpSpeedPanel } from './panels/speed_panel.js';
import { setUpTrainPanel } from './panels/train_panel.js';
import { readPageOptions } from './shared/page_options.js';
import type { BackendDetails, BackendName } from './shared/protocol.js';
import { byId } from './ui/panel_messages.js';
import { WorkerClient } from './ui/worker_client.js';

/** Errors nothing else caught still reach the user, in words, at the top of the page. */
function reportPageError(message: string): void {
  const box = byId('page-errors');
  box.hidden = false;
  const line = document.createElement('p');
  line.textContent = message;
  box.append(line);
}
window.addEventListener('error', (event) => reportPageError(`Error: ${event.message}`));
window.addEventListener('unhandledrejection', (event) => {
  const reason = event.reason instanceof Error ? event.reason.message : String(event.reason);
  reportPageError(`Error: ${reason}`);
});

const options = readPageOptions(location.search);
for (const problem of options.problems) reportPageError(`Ignored URL option: ${problem}`);
const pretrainedBaseUrl = new URL('pretrained/', document.baseURI).href;

let client: WorkerClient;
let details: Promise<BackendDetails>;

/** Starts a worker on `backend` (a fresh one: tfjs keeps one backend per worker here). */
function startWorker(backend: BackendName | 'auto'): void {
  client?.terminate();
  showBackendMessage(
    backend === 'auto' ? 'Detecting WebGPU, WebGL and WebAssembly…' : `Starting ${backend}…`,
  );
  client = new WorkerClient(backend, pretrainedBaseUrl);
  details = client.details;
  details.then(
    (ready) => {
      showBackends(ready, (name) => {
        startWorker(name);
        // Keyboard users keep their place in the picker after it is redrawn.
        details.then(() => document.getElementById(`backend-${name}`)?.focus()).catch(() => {});
      });
      document.body.dataset.backend = ready.active;
    },
    (error: Error) => showBackendMessage(`No backend could start: ${error.message}`, true),
  );
}

startWorker(options.backend);

const app: AppContext = {
  options,
  client: () => client,
  backend: () => details,
};
setUpGeneratePanel(app);
setUpSpeedPanel(app);
setUpAttentionPanel(app);
setUpTrainPanel(app);
