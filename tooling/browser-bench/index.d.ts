export interface BrowserBenchmarkOptions {
  /**
   * Absolute path of the benchmark module. It is bundled for the browser with esbuild and must
   * export `run(args: Record<string, string>): Promise<void>`, which prints its results with
   * `console.log`.
   */
  entry: string;
  /** Passed to `run` unchanged. */
  args?: Record<string, string>;
  /** Fails the run when `run` has not settled after this many milliseconds. Default 30 minutes. */
  timeoutMs?: number;
  /** Receives every console line of the page; default writes it to stdout. */
  onLine?: (line: string) => void;
}

/**
 * Bundles `entry`, serves it on 127.0.0.1, opens it in headless Chromium (the same executable and
 * flags as the browser tests) and awaits its `run(args)`. Rejects on a page error, a rejected
 * `run`, or the timeout; always closes the browser and the server.
 */
export declare function runBrowserBenchmark(options: BrowserBenchmarkOptions): Promise<void>;
