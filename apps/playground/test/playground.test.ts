import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, chromiumExecutable } from '@elementwise/test-config';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canvasSpread, luminanceSpread } from './page_pixels.js';
import { servePlayground } from './static_server.js';

/**
 * Drives the built playground (dist/, served by `vite preview`) in headless Chromium on each
 * backend: every panel must work and show something, and nothing may throw. Sizes stay small
 * (software GPUs): the page's own URL options shorten the speed sweep and the training run.
 */
const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUTPUT_DIR = join(APP_DIR, 'test-output');
/**
 * Which pretrained models each backend generates with. Software WebGPU and WebGL take about half
 * a second per character and model, so they stream from the EA model alone (WebGPU from the
 * per-channel one: the grouped model's 3003-feature state is slow on SwiftShader's WebGPU);
 * WASM streams EA and softmax side by side.
 */
const BACKENDS = [
  { backend: 'webgpu', pair: '1', which: 'ea', streams: 1 },
  { backend: 'webgl', pair: '0', which: 'ea', streams: 1 },
  { backend: 'wasm', pair: '0', which: 'both', streams: 2 },
] as const;
const SPEED_LENGTHS = [256, 512, 1024];
const TRAIN_STEPS = 20;
const QUERY = `lengths=${SPEED_LENGTHS.join(',')}&budget=60&trainSteps=${TRAIN_STEPS}&maxTokens=50`;
const PANELS = ['generate', 'speed', 'attention', 'train'] as const;

let browser: Browser;
let server: Awaited<ReturnType<typeof servePlayground>>;

beforeAll(async () => {
  if (!existsSync(join(APP_DIR, 'dist', 'index.html'))) {
    throw new Error(
      `no build at ${join(APP_DIR, 'dist')}: run "vite build" first (the test script does)`,
    );
  }
  mkdirSync(OUTPUT_DIR, { recursive: true });
  server = await servePlayground(APP_DIR);
  browser = await chromium.launch({
    executablePath: chromiumExecutable(),
    args: [...CHROMIUM_ARGS],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Waits until a panel's data-state leaves "running" and returns it with the panel's error text. */
async function settle(page: Page, panel: string, timeout: number) {
  const locator = page.locator(`#${panel}-panel`);
  await page.waitForFunction(
    (id) => {
      const state = document.getElementById(id)?.dataset.state;
      return state === 'done' || state === 'error';
    },
    `${panel}-panel`,
    { timeout },
  );
  return {
    state: await locator.getAttribute('data-state'),
    error: await page.locator(`#${panel}-error`).textContent(),
  };
}

async function statusText(page: Page, panel: string): Promise<string> {
  return (await page.locator(`#${panel}-status`).textContent()) ?? '';
}

describe('the built playground in headless Chromium', () => {
  for (const { backend, pair, which, streams } of BACKENDS) {
    it(`works on ${backend}`, async () => {
      const started = performance.now();
      const phase = (name: string) =>
        console.log(
          `${backend}: ${name} done at ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console.error: ${message.text()}`);
      });
      const wasmTypes = new Map<string, string>();
      page.on('response', (response) => {
        if (response.url().endsWith('.wasm')) {
          wasmTypes.set(response.url(), response.headers()['content-type'] ?? '');
        }
      });
      try {
        await page.goto(`${server.url}?backend=${backend}&${QUERY}`);
        expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
        await page.waitForFunction(
          () =>
            document.body.dataset.backend !== undefined ||
            document.querySelector('#backend-options .error'),
          null,
          { timeout: 60_000 },
        );
        const picker = (await page.locator('#backend-picker').textContent())?.replace(/\s+/g, ' ');
        expect(await page.evaluate(() => document.body.dataset.backend), picker).toBe(backend);
        const kernels = await page.locator('#backend-status').textContent();
        expect(kernels).toContain('fused kernels registered');
        if (backend === 'wasm') expect(kernels).toContain('threaded build');

        // 1. Generate: both models stream at least 50 characters each.
        await page.evaluate(() => {
          const counter = { updates: 0 };
          (window as unknown as { streamed: typeof counter }).streamed = counter;
          new MutationObserver((records) => {
            counter.updates += records.length;
          }).observe(document.getElementById('generate-outputs')!, {
            subtree: true,
            childList: true,
            characterData: true,
          });
        });
        await page.locator('#generate-pair').selectOption(pair);
        await page.locator('#generate-which').selectOption(which);
        await page.locator('#generate-run').click();
        expect(await settle(page, 'generate', 300_000)).toEqual({ state: 'done', error: '' });
        const texts = await page.locator('.generated-text').allTextContents();
        expect(texts).toHaveLength(streams);
        for (const text of texts) expect(text.length).toBeGreaterThanOrEqual(50);
        const updates = await page.evaluate(
          () => (window as unknown as { streamed: { updates: number } }).streamed.updates,
        );
        expect(updates).toBeGreaterThanOrEqual(50 * streams);
        for (const stats of await page.locator('.generation-stats').allTextContents()) {
          expect(stats).toMatch(/first character after \d+ ms .* [\d.]+ characters\/s/);
        }

        phase('generate');

        // 2. Speed: every series has points at the three lengths.
        await page.locator('#speed-run').click();
        expect(await settle(page, 'speed', 300_000)).toEqual({ state: 'done', error: '' });
        const report = JSON.parse(await page.locator('#speed-json').inputValue()) as {
          backend: string;
          results: Array<{
            attention: string;
            pass: string;
            length: number;
            milliseconds?: number;
          }>;
        };
        expect(report.backend).toBe(backend);
        for (const attention of ['ea6', 'softmax']) {
          for (const pass of ['forward', 'forward+backward']) {
            const lengths = report.results
              .filter((r) => r.attention === attention && r.pass === pass && r.milliseconds! > 0)
              .map((r) => r.length);
            expect(lengths, `${attention} ${pass}`).toEqual(SPEED_LENGTHS);
          }
        }
        const chart = await canvasSpread(page.locator('#speed-chart canvas').first());
        expect(chart.spread).toBeGreaterThan(5);

        phase('speed');

        // 3. Attention weights: four heat maps of the prompt, none blank.
        await page.locator('#attention-run').click();
        expect(await settle(page, 'attention', 180_000)).toEqual({ state: 'done', error: '' });
        const maps = page.locator('#attention-maps canvas');
        expect(await maps.count()).toBe(4);
        for (const canvas of await maps.all()) {
          const { width, spread } = await canvasSpread(canvas);
          expect(width).toBe(128);
          expect(spread).toBeGreaterThan(10);
        }

        phase('attention');

        // 4. Training lowers the loss; the saved model reloads with the same weights.
        await page.locator('#train-run').click();
        expect(await settle(page, 'train', 300_000)).toEqual({ state: 'done', error: '' });
        const finished = (await statusText(page, 'train')).match(
          /Finished after (\d+) steps: loss (\d+\.\d+) → (\d+\.\d+)/,
        );
        expect(finished, await statusText(page, 'train')).not.toBeNull();
        expect(Number(finished![1])).toBe(TRAIN_STEPS);
        expect(Number(finished![3])).toBeLessThan(Number(finished![2]) - 0.2);
        phase('training');
        await page.locator('#train-save').click();
        expect(await settle(page, 'train', 120_000)).toEqual({ state: 'done', error: '' });
        const savedLoss = Number(
          (await statusText(page, 'train')).match(/training text: (\d+\.\d+)/)![1],
        );
        await page.locator('#train-load').click();
        expect(await settle(page, 'train', 120_000)).toEqual({ state: 'done', error: '' });
        const reloaded = await statusText(page, 'train');
        expect(reloaded).toMatch(/^Reloaded from IndexedDB/);
        // The same loss on the same text: the reloaded weights are the trained ones.
        expect(Number(reloaded.match(/training text: (\d+\.\d+)/)![1])).toBeCloseTo(savedLoss, 3);
        await page.locator('#train-generate').click();
        expect(await settle(page, 'train', 120_000)).toEqual({ state: 'done', error: '' });
        expect(await page.locator('#train-output').textContent()).toHaveLength(
          'Call me '.length + 50,
        );
        phase('save and reload');

        // Screenshots of every panel, none blank, and nothing went wrong along the way.
        for (const panel of PANELS) {
          const png = await page.locator(`#${panel}-panel`).screenshot();
          writeFileSync(join(OUTPUT_DIR, `${backend}-${panel}.png`), png);
          expect(await luminanceSpread(page, png), `${panel} screenshot`).toBeGreaterThan(20);
        }
        expect(await page.locator('#page-errors').isHidden()).toBe(true);
        // Every backend's worker starts tfjs wasm while detecting; isolated, it loads the threaded build.
        expect([...wasmTypes.keys()].some((url) => url.includes('threaded-simd'))).toBe(true);
        for (const [url, type] of wasmTypes) expect(type, url).toBe('application/wasm');
        expect(problems).toEqual([]);

        if (backend === 'wasm') {
          // Weights that fail to load are reported in words in the panel, which stays usable.
          await page.route('**/char-lm-moby-dick-ea6/weights.bin', (route) =>
            route.fulfill({ status: 404, body: 'gone' }),
          );
          await page.locator('#generate-pair').selectOption('1');
          await page.locator('#generate-run').click();
          const failed = await settle(page, 'generate', 60_000);
          expect(failed.state).toBe('error');
          expect(failed.error).toMatch(
            /the weights of char-lm-moby-dick-ea6 failed to load: .*weights\.bin: HTTP 404/,
          );
          expect(await page.locator('#generate-run').isEnabled()).toBe(true);
        }
      } finally {
        await context.close();
      }
    });
  }

  it('without WebGPU says why in the backend picker and runs on the next backend', async () => {
    // Chromium on Linux exposes WebGPU only behind --enable-unsafe-webgpu: without it the page
    // must fall back to WebGL and say why WebGPU is unavailable, not show a blank panel.
    const plain = await chromium.launch({
      executablePath: chromiumExecutable(),
      args: CHROMIUM_ARGS.filter((arg) => arg !== '--enable-unsafe-webgpu'),
    });
    try {
      const page = await plain.newPage({ viewport: { width: 1280, height: 800 } });
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
      await page.goto(server.url);
      await page.waitForFunction(() => document.body.dataset.backend !== undefined, null, {
        timeout: 60_000,
      });
      expect(await page.evaluate(() => document.body.dataset.backend)).toBe('webgl');
      const picker = (await page.locator('#backend-picker').textContent())?.replace(/\s+/g, ' ');
      expect(picker).toMatch(/WebGPU.*unavailable: \S/);
      expect(await page.locator('#backend-status').textContent()).toContain(
        'fused kernels registered',
      );
      expect(problems).toEqual([]);
    } finally {
      await plain.close();
    }
  });
});
