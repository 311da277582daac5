/** The Node-only part of the harness: tfjs cpu and wasm set-up, flags, and the machine a run used. */
export * from './backends.js';
export * from './flags.js';
export * from './machine.js';
