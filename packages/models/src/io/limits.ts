/**
 * How much a loader reads from an untrusted model before refusing it. Both are checked before
 * the bytes are read, so a hostile `model.json` cannot make a loader allocate or read without
 * bound.
 */

/**
 * The largest `model.json` a loader parses: 16 MiB. Ours hold an empty topology, the config and
 * one spec per weight (about 7 KB for the shipped 0.6 M-parameter models); 16 MiB leaves room
 * for large vocabularies and thousands of weights while keeping `JSON.parse` cheap.
 */
export const MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024;

/**
 * The most weight bytes one model may declare: 2 GiB (512 M float32 parameters). Larger
 * buffers fail in tfjs's WebGL and wasm backends and in many browsers anyway, and the shipped
 * models are about 2.5 MB.
 */
export const MAX_WEIGHT_BYTES = 2 * 1024 * 1024 * 1024;
