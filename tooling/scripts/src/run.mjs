import { spawn } from 'node:child_process';

/** A failed step: `message` says what, `detail` holds the command's last output lines. */
export class StepError extends Error {
  /**
   * @param {string} message
   * @param {string} [detail]
   */
  constructor(message, detail = '') {
    super(message);
    this.name = 'StepError';
    this.detail = detail;
    /** @type {string | undefined} the command's whole output, where a command produced it */
    this.output = undefined;
  }
}

/** @type {Set<import('node:child_process').ChildProcess>} commands still running */
const running = new Set();

/** Kills every command `run` started that is still running, with its own children. */
export function killRunning(signal = /** @type {NodeJS.Signals} */ ('SIGTERM')) {
  for (const child of running) killGroup(child, signal);
}

/**
 * @param {import('node:child_process').ChildProcess} child
 * @param {NodeJS.Signals} signal
 */
function killGroup(child, signal) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** Environment for child processes, without the `npm_*` variables of the pnpm that started us. */
export function cleanEnv(extra = {}) {
  /** @type {Record<string, string>} */
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^npm_/i.test(key) || key === 'PNPM_SCRIPT_SRC_DIR' || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** The last `lines` lines of `text`. */
export function tail(text, lines = 40) {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/**
 * Runs a command without a shell and resolves with its combined output; rejects with a
 * StepError carrying the output's tail when it exits non-zero, is killed or times out.
 * Asynchronous on purpose: the local registry may run in this process's children and must keep
 * answering while we wait.
 * @param {string} command
 * @param {string[]} args
 * @param {{cwd: string, env?: Record<string, string>, timeoutMs?: number, verbose?: boolean}} options
 * @returns {Promise<string>}
 */
export function run(
  command,
  args,
  { cwd, env = cleanEnv(), timeoutMs = 300_000, verbose = false },
) {
  const shown = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout or an interrupt stops the command's children too.
    const child = spawn(command, args, {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(child);
    let output = '';
    const collect = (/** @type {Buffer} */ chunk) => {
      const text = chunk.toString();
      output += text;
      if (verbose) process.stderr.write(text);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(
        new StepError(
          `\`${shown}\` timed out after ${timeoutMs / 1000} s (in ${cwd})`,
          tail(output),
        ),
      );
    }, timeoutMs);
    child.on('error', (error) => {
      running.delete(child);
      clearTimeout(timer);
      reject(new StepError(`\`${shown}\` could not start: ${error.message} (in ${cwd})`));
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const error = new StepError(`\`${shown}\` ${how} (in ${cwd})`, tail(output));
        // The whole output, for callers that must read every line (e.g. to sort tsc's errors).
        error.output = output;
        reject(error);
      }
    });
  });
}
