import type { CharLM } from '@elementwise/models';
import type {
  AttentionResult,
  BackendDetails,
  WorkerEvent,
  WorkerMessage,
  WorkerRequest,
} from '../shared/protocol.js';
import { inspectedText, layerQueriesAndKeys } from './attention_maps.js';
import { setUpBackend } from './backends.js';
import { describeError } from './describe_error.js';
import { streamGeneration } from './generate.js';
import { PretrainedModels } from './pretrained_models.js';
import { measureSpeed } from './speed.js';
import { TrainingSession } from './training.js';

/**
 * The worker that owns tfjs: the page posts requests and renders what comes back, so long
 * computations never block it. One worker runs one backend; the page starts a new worker to
 * switch.
 */
interface WorkerScope {
  postMessage(message: WorkerMessage): void;
  onmessage: ((event: MessageEvent<{ id: number; request: WorkerRequest }>) => void) | null;
}
const scope = self as unknown as WorkerScope;

let ready: Promise<BackendDetails> | null = null;
let models: PretrainedModels | null = null;
const training = new TrainingSession();

function requireModels(): PretrainedModels {
  if (!models) throw new Error('the worker has not been initialised');
  return models;
}

async function handle(
  request: WorkerRequest,
  emit: (event: WorkerEvent) => void,
): Promise<unknown> {
  if (request.kind === 'init') {
    models = new PretrainedModels(request.pretrainedBaseUrl);
    ready = setUpBackend(request.backend);
    return ready;
  }
  if (!ready) throw new Error('the worker has not been initialised');
  await ready;
  const onLoad = (model: string, fraction: number) =>
    emit({ kind: 'load-progress', model, fraction });
  const load = async (name: string): Promise<CharLM> => {
    const model = await requireModels().get(name, onLoad);
    emit({ kind: 'model-loaded', model: name, parameters: model.parameterCount() });
    return model;
  };
  switch (request.kind) {
    case 'generate': {
      const loaded = [];
      for (const name of request.models) loaded.push({ name, model: await load(name) });
      await streamGeneration(loaded, request, emit);
      return null;
    }
    case 'speed':
      await measureSpeed(request, (result) => emit({ kind: 'speed-result', result }));
      return null;
    case 'attention': {
      const ea = await load(request.eaModel);
      const softmax = await load(request.softmaxModel);
      if (ea.config.attention.kind !== 'ea' || softmax.config.attention.kind !== 'softmax') {
        throw new Error(
          `${request.eaModel} and ${request.softmaxModel} are not an EA/softmax pair`,
        );
      }
      const text = inspectedText(ea, request.prompt);
      const result: AttentionResult = {
        text,
        ea: {
          model: request.eaModel,
          groupSize: ea.config.attention.groupSize ?? 1,
          layers: await layerQueriesAndKeys(ea, text),
        },
        softmax: {
          model: request.softmaxModel,
          numHeads: softmax.config.numHeads,
          layers: await layerQueriesAndKeys(softmax, inspectedText(softmax, request.prompt)),
        },
      };
      return result;
    }
    case 'train':
      return training.train(request.text, request.steps, request.seed, emit);
    case 'stop-training':
      return training.stop();
    case 'save-trained':
      return training.save();
    case 'load-trained':
      return training.load();
    case 'generate-trained': {
      const options = {
        maxTokens: request.maxTokens,
        temperature: request.temperature,
        seed: request.seed,
      };
      for await (const text of training.generate(request.prompt, options)) {
        emit({ kind: 'token', model: 'trained', text });
      }
      return null;
    }
  }
}

scope.onmessage = (message) => {
  const { id, request } = message.data;
  const emit = (event: WorkerEvent) => scope.postMessage({ id, type: 'event', event });
  handle(request, emit).then(
    (result) => scope.postMessage({ id, type: 'done', result }),
    (error: unknown) => scope.postMessage({ id, type: 'error', message: describeError(error) }),
  );
};
