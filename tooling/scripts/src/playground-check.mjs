// The release check's playground step: builds apps/playground against the packages just
// published to the throw-away registry (npm install from the registry, no workspace links) and
// runs its browser test on that build, so that a broken `exports`, `sideEffects` or asset path
// in a published package fails the release check the way it would fail a user's bundler.
import { cpSync, existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, StepError } from './run.mjs';

export const PLAYGROUND_NAME = '@elementwise/playground';
const SCOPE = '@elementwise/';
/** What the copy of the app leaves behind: installs, builds and the test's screenshots. */
const APP_EXCLUDES = new Set(['node_modules', 'dist', 'test-output', '.turbo']);

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/**
 * The app's `@elementwise/*` dependencies that are not being released (null when none is
 * missing): the check then cannot build the app from the registry.
 * @param {any} manifest the app's package.json
 * @param {Map<string, string>} published name -> version
 * @param {Set<string>} privateNames private workspace packages (tooling)
 */
export function missingPackages(manifest, published, privateNames) {
  const missing = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter(
    (name) => name.startsWith(SCOPE) && !published.has(name) && !privateNames.has(name),
  );
  return missing.length > 0 ? missing : null;
}

/**
 * The app's manifest with every `workspace:` range replaced: released packages by their exact
 * published version, private tooling packages (tsconfig, test-config) by `file:` copies.
 * @param {any} manifest
 * @param {Map<string, string>} published
 * @param {Map<string, string>} toolingCopies private package name -> file: spec
 */
export function registryManifest(manifest, published, toolingCopies) {
  const rewritten = structuredClone(manifest);
  for (const field of ['dependencies', 'devDependencies']) {
    for (const [name, range] of Object.entries(rewritten[field] ?? {})) {
      if (!String(range).startsWith('workspace:')) continue;
      const version = published.get(name) ?? toolingCopies.get(name);
      if (!version) {
        throw new StepError(
          `${PLAYGROUND_NAME} depends on ${name} (${range}), which is neither released nor a tooling package`,
        );
      }
      rewritten[field][name] = version;
    }
  }
  return rewritten;
}

/**
 * Copies the app out of the workspace, installs it from the registry and runs `npm test`
 * (vite build, then the Playwright test of the build).
 * @param {{
 *   temp: string, registryUrl: string, registryEnv: Record<string, string>,
 *   published: Map<string, string>, packages: {name: string, dir: string, manifest: any}[],
 *   verbose: boolean, log: (message: string) => void, fail: (message: string, detail?: string) => void,
 * }} options
 */
export async function checkPlayground(options) {
  const { temp, registryUrl, registryEnv, published, packages, verbose, log, fail } = options;
  const app = packages.find((p) => p.name === PLAYGROUND_NAME);
  if (!app) throw new StepError(`no workspace package named ${PLAYGROUND_NAME}`);
  const privateNames = new Set(packages.filter((p) => p.manifest.private).map((p) => p.name));
  const missing = missingPackages(app.manifest, published, privateNames);
  if (missing) {
    log(
      `  skipped: ${PLAYGROUND_NAME} needs ${missing.join(', ')}, which this run does not release (--only)`,
    );
    return;
  }
  const root = join(temp, 'playground');
  const toolingDir = join(temp, 'playground-tooling');
  cpSync(app.dir, root, {
    recursive: true,
    filter: (source) => !APP_EXCLUDES.has(source.split(/[\\/]/).pop() ?? ''),
  });
  /** @type {Map<string, string>} */
  const toolingCopies = new Map();
  for (const name of Object.keys({
    ...app.manifest.dependencies,
    ...app.manifest.devDependencies,
  })) {
    const tooling = packages.find((p) => p.name === name && p.manifest.private);
    if (!tooling) continue;
    const target = join(toolingDir, name.slice(SCOPE.length));
    cpSync(tooling.dir, target, {
      recursive: true,
      filter: (source) => !APP_EXCLUDES.has(source.split(/[\\/]/).pop() ?? ''),
    });
    // A tooling package's own tooling dependencies are workspace links too; it needs none of
    // them at run time.
    const manifest = readJson(join(target, 'package.json'));
    for (const dep of Object.keys(manifest.devDependencies ?? {})) {
      if (String(manifest.devDependencies[dep]).startsWith('workspace:'))
        delete manifest.devDependencies[dep];
    }
    writeFileSync(join(target, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    toolingCopies.set(name, `file:${target}`);
  }
  const manifest = registryManifest(app.manifest, published, toolingCopies);
  writeFileSync(join(root, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(root, '.npmrc'), `registry=${registryUrl}\n`);
  const released = Object.keys({ ...manifest.dependencies }).filter((n) => published.has(n));
  log(
    `  ${PLAYGROUND_NAME} copied to ${root}; installs ${released.map((n) => `${n}@${published.get(n)}`).join(', ')}`,
  );

  // --install-links: the tooling copies install like tarballs (with their dependencies), not as
  // links back into a folder npm does not manage.
  await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-online',
      '--install-links',
      '--loglevel=error',
    ],
    { cwd: root, env: registryEnv, verbose, timeoutMs: 600_000 },
  );
  for (const name of released) {
    const dir = join(root, 'node_modules', name);
    if (!existsSync(join(dir, 'package.json')) || lstatSync(dir).isSymbolicLink()) {
      fail(`${PLAYGROUND_NAME}: ${name} was not installed from the registry`);
      return;
    }
    const version = readJson(join(dir, 'package.json')).version;
    if (version !== published.get(name)) {
      fail(`${PLAYGROUND_NAME}: installed ${name}@${version}, expected ${published.get(name)}`);
      return;
    }
  }
  log('  every @elementwise package installed from the registry at its published version');

  try {
    const output = await run('npm', ['test'], {
      cwd: root,
      // Plain output (no colour codes), so the summary lines below read as text.
      env: { ...registryEnv, CI: process.env.CI ?? 'true', NO_COLOR: '1', FORCE_COLOR: '0' },
      verbose,
      timeoutMs: 900_000,
    });
    const summary = output
      .split('\n')
      .filter((line) => /(Tests|Duration)\s/.test(line) || /done at/.test(line))
      .map((line) => line.trim());
    log(
      `  npm test (vite build, then the browser test of the build) passed\n    ${summary.join('\n    ')}`,
    );
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    fail(
      `${PLAYGROUND_NAME} does not build or pass its browser test against the published packages`,
      error.detail,
    );
  }
}
