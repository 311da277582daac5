#!/usr/bin/env node
import { runCli } from './program.js';

runCli(process.argv).then(
  // tfjs's wasm module can keep the event loop alive; the work is done.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env.EW_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);
