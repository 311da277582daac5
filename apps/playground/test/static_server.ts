import { resolve } from 'node:path';
import { type PreviewServer, preview } from 'vite';

/**
 * `vite preview` of the built app (dist/) with the app's own config, so the test sees the headers
 * and MIME types a user of `pnpm preview` gets. Listens on a free port of 127.0.0.1.
 */
export async function servePlayground(
  appDir: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: PreviewServer = await preview({
    root: appDir,
    configFile: resolve(appDir, 'vite.config.ts'),
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report the URL it listens on');
  return { url, close: () => server.close() };
}
