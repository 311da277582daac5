/**
 * Headers that make the page cross-origin isolated (`self.crossOriginIsolated`), which browsers
 * require before they hand out SharedArrayBuffer: without it tfjs's WebAssembly backend runs on
 * one thread. The README shows how a static host sends the same headers.
 */
export const CROSS_ORIGIN_ISOLATION_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};
