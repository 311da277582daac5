import { createServer } from 'node:http';
import { dirname } from 'node:path';
import { CHROMIUM_ARGS, chromiumExecutable } from '@elementwise/test-config';
import { build } from 'esbuild';
import { chromium } from 'playwright';

// The empty icon keeps Chromium from requesting /favicon.ico, whose 404 would show up as a console line.
const PAGE =
  '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>benchmark</title>' +
  '<script type="module" src="/bench.js"></script>';

/** @param {import('./index.js').BrowserBenchmarkOptions} options */
export async function runBrowserBenchmark(options) {
  const {
    entry,
    args = {},
    timeoutMs = 30 * 60_000,
    onLine = (line) => console.log(line),
  } = options;
  if (typeof entry !== 'string' || !entry.startsWith('/')) {
    throw new Error(`runBrowserBenchmark: entry must be an absolute path, got ${String(entry)}`);
  }
  const bundle = await bundleEntry(entry);
  const server = await serve(bundle);
  const browser = await chromium.launch({
    executablePath: chromiumExecutable(),
    args: [...CHROMIUM_ARGS],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (message) => onLine(message.text()));
    // A page error outside `run` (e.g. while the module loads) must fail the run, not hang it.
    const pageError = new Promise((_, reject) => {
      page.on('pageerror', (error) => reject(new Error(`benchmark page error: ${error.message}`)));
    });
    pageError.catch(() => {});
    const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
    await page.goto(`http://127.0.0.1:${port}/`);
    await Promise.race([page.waitForFunction(() => 'ewBenchmark' in globalThis), pageError]);
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`benchmark did not finish within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([
        page.evaluate((runArgs) => globalThis.ewBenchmark.run(runArgs), args),
        pageError,
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** @param {string} entry */
async function bundleEntry(entry) {
  const result = await build({
    stdin: {
      contents: `import { run } from ${JSON.stringify(entry)};\nglobalThis.ewBenchmark = { run };\n`,
      resolveDir: dirname(entry),
      loader: 'js',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/** @param {string} bundle */
function serve(bundle) {
  const server = createServer((request, response) => {
    if (request.url === '/') {
      response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    } else if (request.url === '/bench.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    } else {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
