/**
 * `@elementwise/cli`: the `elementwise` command, and the dataset loaders and baselines it uses.
 */

export { compressionBitsPerChar } from './baselines/compression.js';
export { loadCo2, loadCo2Series } from './data/co2.js';
export { loadDigits } from './data/digits.js';
export { characterVocabulary, loadMobyDick, mobyDickText } from './data/moby_dick.js';
export { loadSeattleRain } from './data/seattle_rain.js';
export { createProgram, runCli } from './program.js';
export { TASKS, taskByName } from './tasks/index.js';
