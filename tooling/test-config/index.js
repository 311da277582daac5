import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Vitest settings for tests that run in Node. Numeric suites are CPU-bound, so files run in
 * forked workers (tfjs keeps global engine state per process) with generous timeouts.
 * @param {import('vitest/config').ViteUserConfig['test']} [overrides]
 */
export function nodeTestConfig(overrides = {}) {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      exclude: ['test/**/*.browser.test.ts', 'node_modules/**'],
      environment: 'node',
      pool: 'forks',
      testTimeout: 120_000,
      hookTimeout: 120_000,
      reporters: process.env.CI ? ['default'] : ['default'],
      ...overrides,
    },
  });
}

/** Debian's Chromium; `EW_CHROMIUM_PATH` points elsewhere when a machine keeps it somewhere else. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for headless Chromium on our machines (DESIGN.md §8). Playwright adds
 * `--enable-unsafe-swiftshader` itself, which gives WebGL2 on SwiftShader; `--enable-unsafe-webgpu`
 * exposes the SwiftShader WebGPU adapter. The network flags keep Chromium from calling out of a
 * machine that has no network. Never add `--use-gl=swiftshader` or `--use-angle=vulkan`: both
 * break WebGL and WebGPU here.
 */
export const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]);

/** The Chromium executable browser tests use; throws when it is not there. */
export function chromiumExecutable() {
  const path = process.env.EW_CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH;
  if (!existsSync(path)) {
    throw new Error(
      `Chromium is missing: no executable at ${path}. Browser tests need a real headless ` +
        'Chromium and are never skipped. Install Debian\'s package ("apt-get install -y chromium", ' +
        'as .ci/run does) or set EW_CHROMIUM_PATH to a Chromium executable.',
    );
  }
  return path;
}

/**
 * Vitest settings for tests that run in headless Chromium (vitest browser mode, playwright
 * provider), for `test/**\/*.browser.test.ts`. Throws when Chromium is missing rather than skipping.
 * Keys of `overrides` replace the defaults, except `browser`, whose keys are merged.
 * Async because the provider is loaded only when browser tests are configured; a vitest config
 * file can `export default browserTestConfig()`.
 * @param {import('vitest/config').ViteUserConfig['test']} [overrides]
 */
export async function browserTestConfig(overrides = {}) {
  const executablePath = chromiumExecutable();
  const { playwright } = await import('@vitest/browser-playwright');
  const { browser: browserOverrides = {}, ...testOverrides } = overrides;
  return defineConfig({
    test: {
      include: ['test/**/*.browser.test.ts'],
      exclude: ['node_modules/**'],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      ...testOverrides,
      browser: {
        enabled: true,
        headless: true,
        screenshotFailures: false,
        provider: playwright({
          launchOptions: { executablePath, args: [...CHROMIUM_ARGS] },
        }),
        instances: [{ browser: 'chromium' }],
        // Several packages start Chromium at once in CI; on 2 busy cores the page can take more
        // than the default 30 s to connect, which fails a package without running a test.
        connectTimeout: 180_000,
        ...browserOverrides,
      },
    },
  });
}

/**
 * A package's node and Chromium tests as two vitest projects, `node` and `chromium`, so
 * `vitest run --project node` runs one kind alone. `packageName` (optional) resolves the
 * package's own name to `src/index.ts` in both projects, for tests and examples that import the
 * package as users do. `node` and `browser` are the overrides of {@link nodeTestConfig} and
 * {@link browserTestConfig}.
 * @param {string} packageDirectoryUrl the package's folder as a URL (`new URL('.', import.meta.url)`)
 * @param {{ packageName?: string, node?: import('vitest/config').ViteUserConfig['test'], browser?: import('vitest/config').ViteUserConfig['test'] }} [options]
 */
export async function nodeAndBrowserTestConfig(packageDirectoryUrl, options = {}) {
  const node = nodeTestConfig(options.node);
  const browser = await browserTestConfig(options.browser);
  const shared =
    options.packageName === undefined
      ? {}
      : {
          resolve: {
            alias: {
              [options.packageName]: fileURLToPath(new URL('src/index.ts', packageDirectoryUrl)),
            },
          },
        };
  return defineConfig({
    test: {
      projects: [
        { ...shared, test: { ...node.test, name: 'node' } },
        { ...shared, test: { ...browser.test, name: 'chromium' } },
      ],
    },
  });
}
