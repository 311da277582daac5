/** Colours from weight 0 (pale) to the row's largest weight (dark blue), as RGB stops. */
const STOPS: Array<[number, number, number]> = [
  [247, 251, 255],
  [198, 219, 239],
  [107, 174, 214],
  [33, 113, 181],
  [8, 48, 107],
];

function colour(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as [number, number, number];
}

/**
 * Draws causal weights [L, L] on a canvas of L × L pixels (CSS scales it up), each row scaled
 * to its largest weight so that every query's pattern shows; positions after the query (no
 * weight) are grey.
 */
export function drawHeatMap(canvas: HTMLCanvasElement, weights: Float64Array, length: number) {
  canvas.width = length;
  canvas.height = length;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('this browser gives no 2D canvas for the heat map');
  const image = context.createImageData(length, length);
  for (let i = 0; i < length; i++) {
    let peak = 0;
    for (let j = 0; j <= i; j++) peak = Math.max(peak, weights[i * length + j]);
    for (let j = 0; j < length; j++) {
      const [r, g, b] =
        j > i ? [224, 224, 224] : colour(peak > 0 ? weights[i * length + j] / peak : 0);
      const at = 4 * (i * length + j);
      image.data[at] = r;
      image.data[at + 1] = g;
      image.data[at + 2] = b;
      image.data[at + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
}
