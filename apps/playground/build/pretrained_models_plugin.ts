import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'vite';
import { PRETRAINED_FILES } from '../src/shared/pretrained_pairs.js';

const URL_PREFIX = '/pretrained/';

/**
 * Serves (dev) and copies into the build (`dist/pretrained/<name>/`) the shipped files of the
 * named models, read from the installed `@elementwise/models` package: the app loads them by URL
 * like any static host would serve them, and the package's own module-relative URL is not used
 * because a bundle does not keep the package's folder layout.
 */
export function pretrainedModelsPlugin(names: readonly string[]): Plugin {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('@elementwise/models/package.json'));
  const fileOf = (name: string, file: string) => join(packageDir, 'pretrained', name, file);
  const wanted = new Set(names);
  return {
    name: 'elementwise-pretrained-models',
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const path = (request.url ?? '').split('?')[0];
        const at = path.indexOf(URL_PREFIX);
        if (at < 0) return next();
        const [name, file, ...rest] = path.slice(at + URL_PREFIX.length).split('/');
        const known = (PRETRAINED_FILES as readonly string[]).includes(file);
        if (!wanted.has(name) || !known || rest.length > 0) return next();
        response.setHeader(
          'Content-Type',
          file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
        );
        response.end(readFileSync(fileOf(name, file)));
      });
    },
    generateBundle() {
      for (const name of names) {
        for (const file of PRETRAINED_FILES) {
          this.emitFile({
            type: 'asset',
            fileName: `pretrained/${name}/${file}`,
            source: readFileSync(fileOf(name, file)),
          });
        }
      }
    },
  };
}
