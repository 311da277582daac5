/** The Node-only part of the harness: tfjs cpu and wasm set-up, and the machine a run used. */
export * from './backends.js';
export * from './machine.js';
