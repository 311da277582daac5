/**
 * Messages between the page and the worker that runs tfjs. Every request carries an id; the
 * worker answers with any number of events for that id, then exactly one `done` or `error`.
 */
export type BackendName = 'webgpu' | 'webgl' | 'wasm';

/** Detection order: the first available one is chosen unless the page asks for another. */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm'];

export interface BackendReport {
  name: BackendName;
  available: boolean;
  /** Why it is unavailable, in words; absent when available. */
  reason?: string;
}

export interface BackendDetails {
  active: BackendName;
  reports: BackendReport[];
  /** e.g. "fused WGSL kernels" or "fused kernels (wasm-simd), 4 threads". */
  kernels: string;
  crossOriginIsolated: boolean;
}

export interface GenerateRequest {
  kind: 'generate';
  models: string[];
  prompt: string;
  temperature: number;
  maxTokens: number;
  seed: number;
}

export interface SpeedRequest {
  kind: 'speed';
  lengths: number[];
  /** Seconds one measurement may be predicted to take before its length is skipped. */
  budgetSeconds: number;
}

export interface AttentionRequest {
  kind: 'attention';
  eaModel: string;
  softmaxModel: string;
  prompt: string;
}

export interface TrainRequest {
  kind: 'train';
  text: string;
  steps: number;
  seed: number;
}

export interface TrainedModelRequest {
  kind: 'stop-training' | 'save-trained' | 'load-trained';
}

export interface GenerateTrainedRequest {
  kind: 'generate-trained';
  prompt: string;
  temperature: number;
  maxTokens: number;
  seed: number;
}

export type WorkerRequest =
  | { kind: 'init'; backend: BackendName | 'auto'; pretrainedBaseUrl: string }
  | GenerateRequest
  | SpeedRequest
  | AttentionRequest
  | TrainRequest
  | TrainedModelRequest
  | GenerateTrainedRequest;

export type WorkerEvent =
  | { kind: 'load-progress'; model: string; fraction: number }
  | { kind: 'model-loaded'; model: string; parameters: number }
  | { kind: 'token'; model: string; text: string }
  | { kind: 'generation-stats'; model: string; firstTokenMs: number; tokensPerSecond: number }
  | { kind: 'speed-result'; result: SpeedResult }
  | { kind: 'train-progress'; step: number; steps: number; loss: number; elapsedMs: number };

/** One cell of the speed table: measured, or skipped or failed with a reason in words. */
export interface SpeedResult {
  attention: 'ea6' | 'softmax';
  pass: 'forward' | 'forward+backward';
  length: number;
  milliseconds?: number;
  skipped?: string;
  failed?: string;
}

/** One attention layer's queries and keys, [1, L, width] row-major. */
export interface LayerQueryKey {
  layer: number;
  query: Float32Array;
  key: Float32Array;
  length: number;
  width: number;
}

export interface AttentionResult {
  /** The prompt as the models read it (their last maxLength characters). */
  text: string;
  ea: { model: string; groupSize: number; layers: LayerQueryKey[] };
  softmax: { model: string; numHeads: number; layers: LayerQueryKey[] };
}

export interface TrainResultSummary {
  steps: number;
  stopped: boolean;
  firstLoss: number;
  lastLoss: number;
}

export interface TrainedModelSummary {
  parameters: number;
  vocabularySize: number;
  /** Where the model now in the worker came from. */
  source: 'trained' | 'indexeddb';
}

export type WorkerMessage =
  | { id: number; type: 'event'; event: WorkerEvent }
  | { id: number; type: 'done'; result: unknown }
  | { id: number; type: 'error'; message: string };

/** The URL the trained model is saved to (tfjs IndexedDB store of this origin). */
export const TRAINED_MODEL_URL = 'indexeddb://elementwise-playground-char-lm';
