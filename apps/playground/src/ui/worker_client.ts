import type {
  BackendDetails,
  BackendName,
  WorkerEvent,
  WorkerMessage,
  WorkerRequest,
} from '../shared/protocol.js';

interface Pending {
  onEvent: (event: WorkerEvent) => void;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * The page's side of the tfjs worker: `request` posts a request and resolves with its result,
 * passing the events that come before it to `onEvent`. A worker that dies (e.g. killed for
 * memory) fails every pending request with an error saying so.
 */
export class WorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  readonly details: Promise<BackendDetails>;

  constructor(backend: BackendName | 'auto', pretrainedBaseUrl: string) {
    this.worker = new Worker(new URL('../worker/worker.ts', import.meta.url), {
      type: 'module',
      name: 'tfjs',
    });
    this.worker.onmessage = (message: MessageEvent<WorkerMessage>) => this.receive(message.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.failAll(`the tfjs worker stopped: ${event.message || 'it could not be started'}`);
    };
    this.details = this.request({
      kind: 'init',
      backend,
      pretrainedBaseUrl,
    }) as Promise<BackendDetails>;
  }

  request(request: WorkerRequest, onEvent: (event: WorkerEvent) => void = () => {}) {
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { onEvent, resolve, reject });
      this.worker.postMessage({ id, request });
    });
  }

  terminate(): void {
    this.worker.terminate();
    this.failAll('the backend was switched; the request was cancelled');
  }

  private receive(message: WorkerMessage): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'event') {
      pending.onEvent(message.event);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === 'done') pending.resolve(message.result);
    else pending.reject(new Error(message.message));
  }

  private failAll(message: string): void {
    for (const pending of this.pending.values()) pending.reject(new Error(message));
    this.pending.clear();
  }
}
