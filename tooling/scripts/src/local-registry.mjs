import { fork } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StepError, tail } from './run.mjs';

const CHILD = fileURLToPath(new URL('./verdaccio-child.mjs', import.meta.url));

/** Throws a StepError saying how to fix it when verdaccio is not installed. */
export function assertVerdaccioInstalled() {
  try {
    createRequire(import.meta.url).resolve('verdaccio/package.json');
  } catch {
    throw new StepError(
      'verdaccio is not installed in tooling/scripts. It is a devDependency of @elementwise/scripts ' +
        '(pnpm add -D verdaccio@6 --filter @elementwise/scripts); it installs only with the ' +
        'override "verdaccio-audit>node-fetch: 2.7.0" in pnpm-workspace.yaml, because ' +
        'verdaccio-audit asks for node-fetch@cjs, a dist-tag the registry does not serve.',
    );
  }
}

/**
 * verdaccio configuration: `@elementwise/*` lives only here (no uplink, so nothing of ours can
 * come from the public registry by mistake) and anyone may publish it; every other package is
 * proxied from `uplink` so consumers can install peers such as tfjs.
 * @param {string} dir
 * @param {string} uplink
 */
function configYaml(dir, uplink) {
  const q = JSON.stringify; // a JSON string is a valid YAML scalar
  return `# written by tooling/scripts/src/release-check.mjs
storage: ${q(join(dir, 'storage'))}
plugins: ${q(join(dir, 'plugins'))}
web:
  enable: false
auth:
  htpasswd:
    file: ${q(join(dir, 'htpasswd'))}
    max_users: 10
uplinks:
  npmjs:
    url: ${q(uplink)}
    timeout: 60s
    max_fails: 10
    fail_timeout: 10s
packages:
  '@elementwise/*':
    access: $all
    publish: $all
    unpublish: $all
  '**':
    access: $all
    publish: $authenticated
    unpublish: $authenticated
    proxy: npmjs
max_body_size: 200mb
log:
  type: stdout
  format: pretty
  level: warn
`;
}

/**
 * Starts verdaccio on 127.0.0.1 (a free port the system picks) with storage under `dir`, and
 * registers a user so npm has a token to send.
 * @param {{dir: string, uplink: string, timeoutMs?: number}} options
 */
export async function startRegistry({ dir, uplink, timeoutMs = 60_000 }) {
  assertVerdaccioInstalled();
  mkdirSync(join(dir, 'storage'), { recursive: true });
  mkdirSync(join(dir, 'plugins'), { recursive: true });
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, configYaml(dir, uplink));
  const logPath = join(dir, 'verdaccio.log');
  const logFd = openSync(logPath, 'a');
  const child = fork(CHILD, [configPath], {
    cwd: dir,
    stdio: ['ignore', logFd, logFd, 'ipc'],
    execArgv: [],
  });
  closeSync(logFd);
  const log = () => {
    try {
      return tail(readFileSync(logPath, 'utf8'));
    } catch {
      return '';
    }
  };

  let exited = child.exitCode !== null;
  const exitedPromise = new Promise((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve(undefined);
    }),
  );

  async function stop() {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exitedPromise;
    clearTimeout(timer);
  }

  /** @type {number} */
  let port;
  try {
    port = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new StepError(`verdaccio did not start within ${timeoutMs / 1000} s`, log())),
        timeoutMs,
      );
      child.once('message', (/** @type {{port: number}} */ message) => {
        clearTimeout(timer);
        if (message?.port) resolve(message.port);
        else reject(new StepError('verdaccio did not report its port', log()));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new StepError(`verdaccio exited during start-up (${signal ?? code})`, log()));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new StepError(`verdaccio could not start: ${error.message}`, log()));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }

  const url = `http://127.0.0.1:${port}/`;
  const user = 'ew-release-check';
  const response = await fetch(`${url}-/user/org.couchdb.user:${user}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      _id: `org.couchdb.user:${user}`,
      name: user,
      password: `pw-${process.pid}-${Date.now()}`,
      email: 'release-check@localhost',
      type: 'user',
      roles: [],
      date: new Date().toISOString(),
    }),
  }).catch((error) => {
    throw new StepError(`could not reach verdaccio at ${url}: ${error.message}`, log());
  });
  const body = /** @type {{token?: string}} */ (await response.json().catch(() => ({})));
  if (!response.ok || !body.token) {
    await stop();
    throw new StepError(
      `verdaccio refused to create user ${user}: HTTP ${response.status} ${JSON.stringify(body)}`,
      log(),
    );
  }

  return { url, port, token: body.token, logPath, log, stop, child };
}
