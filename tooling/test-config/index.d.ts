import type { UserConfig, ViteUserConfig } from 'vitest/config';
export declare function nodeTestConfig(overrides?: ViteUserConfig['test']): UserConfig;

/** `/usr/bin/chromium` (Debian's Chromium). */
export declare const DEFAULT_CHROMIUM_PATH: string;
/** The command-line flags headless Chromium is started with. */
export declare const CHROMIUM_ARGS: readonly string[];
/** Path of the Chromium executable (`EW_CHROMIUM_PATH` or `/usr/bin/chromium`); throws when missing. */
export declare function chromiumExecutable(): string;
/**
 * Vitest browser-mode settings for `test/**\/*.browser.test.ts` in headless Chromium (playwright
 * provider). Rejects when Chromium is missing: browser tests are never skipped.
 */
export declare function browserTestConfig(overrides?: ViteUserConfig['test']): Promise<UserConfig>;

/**
 * The package's node tests and Chromium tests as two vitest projects, `node` and `chromium`.
 * `packageName` resolves the package's own name to its `src/index.ts` in both.
 */
export declare function nodeAndBrowserTestConfig(
  packageDirectoryUrl: URL,
  options?: {
    packageName?: string;
    node?: ViteUserConfig['test'];
    browser?: ViteUserConfig['test'];
  },
): Promise<UserConfig>;
