import type { Locator, Page } from 'playwright-core';

/** Standard deviation of the luminance (0–255) of an image, computed by the page itself. */
export async function luminanceSpread(page: Page, png: Buffer): Promise<number> {
  return page.evaluate(async (base64) => {
    const image = new Image();
    image.src = `data:image/png;base64,${base64}`;
    await image.decode();
    const canvas = new OffscreenCanvas(image.width, image.height);
    const context = canvas.getContext('2d')!;
    context.drawImage(image, 0, 0);
    const { data } = context.getImageData(0, 0, image.width, image.height);
    let sum = 0;
    let squares = 0;
    const pixels = data.length / 4;
    for (let i = 0; i < data.length; i += 4) {
      const y = 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
      sum += y;
      squares += y * y;
    }
    const mean = sum / pixels;
    return Math.sqrt(Math.max(0, squares / pixels - mean * mean));
  }, png.toString('base64'));
}

/** Spread of the pixels a canvas element holds (not its screenshot: the drawn data itself). */
export async function canvasSpread(canvas: Locator): Promise<{ width: number; spread: number }> {
  return canvas.evaluate((element) => {
    const c = element as HTMLCanvasElement;
    const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < data.length; i += 4) {
      sum += data[i + 2];
      squares += data[i + 2] ** 2;
    }
    const n = data.length / 4;
    const mean = sum / Math.max(1, n);
    return {
      width: c.width,
      spread: Math.sqrt(Math.max(0, squares / Math.max(1, n) - mean * mean)),
    };
  });
}
