import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * Absolute path of a file inside an installed npm package, found from the package's entry point
 * (packages whose `exports` hide their data folders still resolve their main module).
 * `levelsUp` is how many folders the entry point sits below the package root.
 */
export function installedPackageFile(
  packageName: string,
  levelsUp: number,
  ...segments: string[]
): string {
  let root = dirname(require.resolve(packageName));
  for (let i = 0; i < levelsUp; i += 1) root = dirname(root);
  return join(root, ...segments);
}
