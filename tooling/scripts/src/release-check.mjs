#!/usr/bin/env node
// Proves that a release works for a user: versions the repository's pending changesets, builds
// and publishes every public workspace package to a throw-away verdaccio registry, installs the
// published packages into a fresh project outside the workspace, type-checks and runs the
// consumers in tooling/scripts/release-consumer/ against them, builds the browser playground
// (apps/playground) from the published packages and runs its browser test on that build, and
// checks that pure packages install alone. The checkout is never modified: all work happens in a copy under the system's
// temporary directory, removed at the end together with the registry, pass or fail.
//
//   node tooling/scripts/src/release-check.mjs [--only=@elementwise/math,...] [--break-exports[=name]]
//                                              [--keep] [--verbose]
//
// --only           publish and check only these packages (and the @elementwise packages they need);
//                  the playground step runs only when they include every package the app uses
// --break-exports  point a package's exports map (default @elementwise/math) at files that do
//                  not exist, in the copy only, to see the check fail
// --keep           keep the temporary directory (its path is printed) instead of removing it
// --verbose        stream every command's output
// Environment: EW_RELEASE_CHECK_BREAK_EXPORTS=<name|1>, EW_RELEASE_CHECK_KEEP=1,
// EW_RELEASE_UPLINK (registry proxied for everything outside @elementwise; default npmjs).
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertVerdaccioInstalled, startRegistry } from './local-registry.mjs';
import { checkPlayground } from './playground-check.mjs';
import { cleanEnv, killRunning, run, StepError } from './run.mjs';

const SCRIPTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO_ROOT = resolve(SCRIPTS_DIR, '../..');
const CONSUMER_DIR = join(SCRIPTS_DIR, 'release-consumer');
/** Code the consumers share (their assertion, seeded inputs, the oracle comparison), copied beside them. */
const CONSUMER_SUPPORT_DIR = join(CONSUMER_DIR, 'support');
const SCOPE = '@elementwise/';
const COPY_EXCLUDES = new Set(['node_modules', '.git', 'dist', '.turbo', 'coverage']);

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const options = {
    only: /** @type {string[] | null} */ (null),
    breakExports: /** @type {string | null} */ (null),
    keep: process.env.EW_RELEASE_CHECK_KEEP === '1',
    verbose: false,
  };
  const breakEnv = process.env.EW_RELEASE_CHECK_BREAK_EXPORTS;
  if (breakEnv) options.breakExports = breakEnv === '1' ? `${SCOPE}math` : breakEnv;
  for (const arg of argv) {
    const [key, value] = arg.split(/=(.*)/s);
    if (key === '--only' && value) options.only = value.split(',').map((s) => s.trim());
    else if (key === '--break-exports') options.breakExports = value || `${SCOPE}math`;
    else if (key === '--keep') options.keep = true;
    else if (key === '--verbose') options.verbose = true;
    else {
      console.error(
        `release-check: unknown argument ${arg} (see the comment at the top of ${basename(fileURLToPath(import.meta.url))})`,
      );
      process.exit(2);
    }
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Reporting

/** @type {{name: string, status: 'ok' | 'FAIL', seconds: number}[]} */
const steps = [];
/** @type {string[]} failures that do not stop the check at once (consumers, exports, isolation) */
const failures = [];

function log(message = '') {
  process.stdout.write(`${message}\n`);
}

/**
 * Runs one named step, timing it.
 * @template T
 * @param {string} name
 * @param {() => Promise<T> | T} fn
 * @returns {Promise<T>}
 */
async function step(name, fn) {
  log(`\n▶ ${name}`);
  const start = performance.now();
  const failuresBefore = failures.length;
  try {
    const result = await fn();
    const seconds = (performance.now() - start) / 1000;
    const status = failures.length > failuresBefore ? 'FAIL' : 'ok';
    steps.push({ name, status, seconds });
    log(`${status === 'ok' ? '✓' : '✗'} ${name} (${seconds.toFixed(1)} s)`);
    return result;
  } catch (error) {
    const seconds = (performance.now() - start) / 1000;
    steps.push({ name, status: 'FAIL', seconds });
    log(`✗ ${name} (${seconds.toFixed(1)} s)`);
    throw error;
  }
}

/** Records a failure that lets the check go on, so one run reports every broken consumer. */
function fail(message, detail = '') {
  failures.push(detail ? `${message}\n${indent(detail)}` : message);
  log(`  ✗ ${message}`);
  if (detail) log(indent(detail));
}

/** Output of a failed Node run without its stack frames, which say nothing about our packages. */
function withoutStack(text) {
  return text
    .split('\n')
    .filter((line) => !/^\s+at /.test(line))
    .join('\n');
}

function indent(text, by = '    ') {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}

/** `  - first line` with the following lines indented under it. */
function bullet(text) {
  const [first, ...rest] = text.split('\n');
  return [`  - ${first}`, ...rest.map((line) => `    ${line}`)].join('\n');
}

function printSummary() {
  if (steps.length === 0) return;
  const width = Math.max(...steps.map((s) => s.name.length), 4);
  log('\nrelease check summary');
  log(`  ${'step'.padEnd(width)}  status  seconds`);
  for (const s of steps) {
    log(`  ${s.name.padEnd(width)}  ${s.status.padEnd(6)}  ${s.seconds.toFixed(1).padStart(7)}`);
  }
  const total = steps.reduce((sum, s) => sum + s.seconds, 0);
  log(`  ${'total'.padEnd(width)}          ${total.toFixed(1).padStart(7)}`);
}

// ---------------------------------------------------------------------------------------------
// Workspace

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function writeJson(path, value) {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** `[command, ...leadingArgs]` that runs the pinned pnpm. */
function findPnpm() {
  const execPath = process.env.npm_execpath;
  /** @type {string[][]} */
  const candidates = [];
  if (execPath && /pnpm/i.test(basename(execPath))) candidates.push([process.execPath, execPath]);
  candidates.push(['pnpm']);
  const pinned = readJson(join(REPO_ROOT, 'package.json')).packageManager;
  candidates.push(['corepack', 'pnpm']);
  if (pinned) candidates.push(['npx', '-y', pinned]);
  for (const candidate of candidates) {
    const probe = spawnSync(candidate[0], [...candidate.slice(1), '--version'], {
      encoding: 'utf8',
      env: cleanEnv(),
      cwd: REPO_ROOT,
    });
    if (probe.status === 0) return candidate;
  }
  throw new StepError('pnpm not found (tried npm_execpath, pnpm, corepack pnpm, npx pnpm)');
}

/** Files of the checkout that git does not ignore, tracked or not; null without git. */
function listRepoFiles() {
  const result = spawnSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  if (result.status !== 0 || result.error) return null;
  return result.stdout.split('\0').filter((file) => file && existsSync(join(REPO_ROOT, file)));
}

/** Copies the checkout (what git would keep, or everything but build output) to `target`. */
function copyRepo(target) {
  const files = listRepoFiles();
  if (files) {
    for (const file of files) {
      const from = join(REPO_ROOT, file);
      const to = join(target, file);
      mkdirSync(dirname(to), { recursive: true });
      if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), to);
      else copyFileSync(from, to);
    }
    return `${files.length} files (git ls-files)`;
  }
  cpSync(REPO_ROOT, target, {
    recursive: true,
    filter: (source) => !COPY_EXCLUDES.has(basename(source)),
  });
  return 'all files but node_modules, .git and build output';
}

/**
 * The workspace packages of the copy, from `pnpm ls -r`, with their manifests.
 * @returns {Promise<{name: string, dir: string, manifest: any}[]>}
 */
async function workspacePackages(pnpm, root) {
  const output = await run(pnpm[0], [...pnpm.slice(1), 'ls', '-r', '--depth', '-1', '--json'], {
    cwd: root,
  });
  const listed = JSON.parse(output);
  return listed
    .filter((entry) => entry.path !== root)
    .map((entry) => ({
      name: entry.name,
      dir: entry.path,
      manifest: readJson(join(entry.path, 'package.json')),
    }));
}

/** Names of the `@elementwise` packages that `name` depends on at run time, transitively. */
function scopeClosure(name, byName) {
  const seen = new Set([name]);
  const queue = [name];
  while (queue.length > 0) {
    const manifest = byName.get(queue.pop())?.manifest ?? {};
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const dep of Object.keys(manifest[field] ?? {})) {
        if (dep.startsWith(SCOPE) && !seen.has(dep)) {
          seen.add(dep);
          queue.push(dep);
        }
      }
    }
  }
  return seen;
}

/** Orders packages so each comes after the workspace packages it depends on. */
function topological(packages) {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const ordered = [];
  const visiting = new Set();
  const done = new Set();
  const visit = (p) => {
    if (done.has(p.name) || visiting.has(p.name)) return;
    visiting.add(p.name);
    const m = p.manifest;
    for (const dep of Object.keys({ ...m.dependencies, ...m.peerDependencies })) {
      if (byName.has(dep)) visit(byName.get(dep));
    }
    done.add(p.name);
    ordered.push(p);
  };
  for (const p of packages) visit(p);
  return ordered;
}

/** Pending changeset files (`.changeset/*.md` but the README). */
function pendingChangesets(root) {
  const dir = join(root, '.changeset');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.md') && f.toLowerCase() !== 'readme.md');
}

// ---------------------------------------------------------------------------------------------
// Consumers

/** `@elementwise/math` -> `math` */
function shortName(name) {
  return name.startsWith('@') ? name.split('/')[1] : name;
}

/** Bare package names a TypeScript file imports (static, dynamic and side-effect imports). */
function importedPackages(source) {
  const names = new Set();
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;
  for (const match of source.matchAll(pattern)) {
    const specifier = match[1];
    if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) {
      continue;
    }
    const parts = specifier.split('/');
    names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
  }
  return [...names];
}

/**
 * The version to install for a third-party package a consumer imports: the one the workspace
 * develops against (devDependencies of the packages under test, then their peer ranges, then
 * the root's devDependencies).
 */
function pinnedVersion(dep, packages, rootManifest) {
  for (const field of ['devDependencies', 'peerDependencies', 'dependencies']) {
    for (const p of packages) {
      const version = p.manifest[field]?.[dep];
      if (version && !version.startsWith('workspace:')) return version;
    }
  }
  const version = rootManifest.devDependencies?.[dep] ?? rootManifest.dependencies?.[dep];
  if (version) return version;
  throw new StepError(
    `a release consumer imports ${dep}, but no workspace package pins a version of it: ` +
      'add it to the devDependencies of the package the consumer tests',
  );
}

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022', 'DOM'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: false,
    verbatimModuleSyntax: true,
    rootDir: 'src',
    outDir: 'out',
  },
  include: ['src'],
};

/** `npm install` of `specs` (`name@version`) into the project at `dir`, pinned exactly, quietly. */
function npmInstallExact(dir, specs, env, verbose) {
  const flags = ['--no-audit', '--no-fund', '--save-exact', '--prefer-online', '--loglevel=error'];
  return run('npm', ['install', ...flags, ...specs], { cwd: dir, env, verbose });
}

/** Creates an npm project at `dir` that installs from `registryUrl` only. */
function createProject(dir, name, registryUrl) {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeJson(join(dir, 'package.json'), {
    name,
    version: '0.0.0',
    private: true,
    type: 'module',
    description: 'Throw-away consumer of the packages published by the release check',
  });
  writeFileSync(join(dir, '.npmrc'), `registry=${registryUrl}\n`);
  writeJson(join(dir, 'tsconfig.json'), CONSUMER_TSCONFIG);
}

/** Every package directory under `node_modules` (nested ones too), as `[name, dir]`. */
function installedPackages(nodeModules) {
  /** @type {[string, string][]} */
  const found = [];
  if (!existsSync(nodeModules)) return found;
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue;
    const path = join(nodeModules, entry);
    const dirs = entry.startsWith('@')
      ? readdirSync(path).map((sub) => [`${entry}/${sub}`, join(path, sub)])
      : [[entry, path]];
    for (const [name, dir] of dirs) {
      if (!existsSync(join(dir, 'package.json'))) continue;
      found.push([name, dir]);
      found.push(...installedPackages(join(dir, 'node_modules')));
    }
  }
  return found;
}

/** Every file an installed package's `exports`, `main` and `types` point at, that is missing. */
function missingEntryPoints(dir) {
  const manifest = readJson(join(dir, 'package.json'));
  /** @type {string[]} */
  const missing = [];
  const visit = (value, where) => {
    if (typeof value === 'string') {
      if (!value.includes('*') && !existsSync(join(dir, value))) {
        missing.push(`${where} -> ${value}`);
      }
    } else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) visit(v, `${where}[${i}]`);
    } else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) visit(v, `${where}[${JSON.stringify(key)}]`);
    }
  };
  visit(manifest.exports, 'exports');
  if (manifest.main) visit(manifest.main, 'main');
  if (manifest.types) visit(manifest.types, 'types');
  return missing;
}

// ---------------------------------------------------------------------------------------------
// Main

const options = parseArgs(process.argv.slice(2));
// corepack cannot verify the signature of the pinned pnpm on our machines; see .ci/run.
process.env.COREPACK_INTEGRITY_KEYS ??= '0';
const temp = mkdtempSync(join(realpathSync(tmpdir()), 'ew-release-'));
/** @typedef {Awaited<ReturnType<typeof startRegistry>>} Registry */
/** @type {Registry | null} set once the registry is up */
let registry = null;
/** @type {Promise<unknown> | null} settles once the registry is up or has failed to start */
let registryStarting = null;
/** @type {Promise<void> | null} */
let cleaning = null;
let removed = false;

function removeTemp() {
  if (removed || options.keep) return;
  rmSync(temp, { recursive: true, force: true });
  removed = true;
}

/** Stops every command and the registry, then removes the temporary directory; idempotent. */
function cleanup() {
  cleaning ??= (async () => {
    killRunning();
    try {
      await registryStarting?.catch(() => {});
      await registry?.stop();
    } finally {
      if (options.keep) log(`\nkept ${temp}`);
      removeTemp();
    }
  })();
  return cleaning;
}

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    log(`\nrelease check interrupted (${signal}); stopping the registry and removing ${temp}`);
    cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
process.on('exit', () => {
  killRunning('SIGKILL');
  registry?.child.kill('SIGKILL');
  removeTemp();
});

async function main() {
  const verbose = options.verbose;
  if (
    `${realpathSync(REPO_ROOT)}${sep}`.startsWith(`${temp}${sep}`) ||
    temp.startsWith(`${realpathSync(REPO_ROOT)}${sep}`)
  ) {
    throw new StepError(
      `the temporary directory ${temp} lies inside the workspace; set TMPDIR elsewhere`,
    );
  }
  log(`release check of ${REPO_ROOT}\nworking in ${temp}`);
  if (options.breakExports) {
    log(`\n!! exports of ${options.breakExports} are broken on purpose: this run must fail`);
  }
  assertVerdaccioInstalled();
  const pnpm = findPnpm();
  const workspace = join(temp, 'workspace');
  const registryDir = join(temp, 'registry');
  const uplink = process.env.EW_RELEASE_UPLINK || 'https://registry.npmjs.org/';

  // The registry starts while the copy installs and builds.
  const starting = startRegistry({ dir: registryDir, uplink });
  registryStarting = starting.then((r) => {
    registry = r;
  });
  registryStarting.catch(() => {}); // reported by the 'start verdaccio' step

  await step('copy the checkout', () => {
    const how = copyRepo(workspace);
    log(`  copied ${how} to ${workspace}`);
  });

  const rootManifest = readJson(join(workspace, 'package.json'));

  await step('install the copy (pnpm install --frozen-lockfile)', () =>
    run(pnpm[0], [...pnpm.slice(1), 'install', '--frozen-lockfile', '--prefer-offline'], {
      cwd: workspace,
      verbose,
    }),
  );

  const pending = pendingChangesets(workspace);
  const versionsBefore = new Map(
    (await workspacePackages(pnpm, workspace)).map((p) => [p.name, p.manifest.version]),
  );
  await step(`version packages (${pending.length} pending changeset(s))`, async () => {
    if (pending.length === 0) {
      log('  no pending changesets: packages are published at their current versions');
      return;
    }
    await run(pnpm[0], [...pnpm.slice(1), 'exec', 'changeset', 'version'], {
      cwd: workspace,
      verbose,
    });
  });

  const all = await workspacePackages(pnpm, workspace);
  const byName = new Map(all.map((p) => [p.name, p]));
  let publicPackages = all.filter((p) => !p.manifest.private);
  if (options.only) {
    const wanted = new Set(options.only.flatMap((name) => [...scopeClosure(name, byName)]));
    for (const name of options.only) {
      if (!byName.has(name)) throw new StepError(`--only: no workspace package named ${name}`);
    }
    publicPackages = publicPackages.filter((p) => wanted.has(p.name));
  }
  publicPackages = topological(publicPackages);
  if (publicPackages.length === 0) throw new StepError('no public workspace packages to release');
  for (const p of publicPackages) {
    const before = versionsBefore.get(p.name);
    const now = p.manifest.version;
    log(`  ${p.name}@${now}${before !== now ? ` (was ${before})` : ''}`);
  }

  await step('build the public packages', () =>
    run(
      pnpm[0],
      [
        ...pnpm.slice(1),
        '-r',
        ...publicPackages.flatMap((p) => ['--filter', `${p.name}...`]),
        '--if-present',
        'run',
        'build',
      ],
      { cwd: workspace, verbose, timeoutMs: 600_000 },
    ),
  );

  // After the build, as a wrong publishConfig.exports would be: only the published package breaks.
  if (options.breakExports) {
    const target = byName.get(options.breakExports);
    if (!target)
      throw new StepError(`--break-exports: no workspace package ${options.breakExports}`);
    target.manifest.exports = {
      '.': { types: './dist/missing-entry.d.ts', default: './dist/missing-entry.js' },
      './package.json': './package.json',
    };
    writeJson(join(target.dir, 'package.json'), target.manifest);
  }

  const local = await step('start verdaccio', async () => {
    const r = await starting;
    log(`  ${r.url} (storage ${registryDir}, uplink ${uplink} except ${SCOPE}*)`);
    return r;
  });
  const npmrc = join(temp, 'npmrc');
  const host = local.url.replace(/^https?:/, '');
  writeFileSync(npmrc, `registry=${local.url}\n${host}:_authToken=${local.token}\n`);
  const registryEnv = cleanEnv({ npm_config_userconfig: npmrc, npm_config_registry: local.url });

  await step('publish (pnpm publish)', async () => {
    for (const p of publicPackages) {
      await run(
        pnpm[0],
        [...pnpm.slice(1), 'publish', '--no-git-checks', '--registry', local.url],
        { cwd: p.dir, env: registryEnv, verbose },
      );
      const response = await fetch(`${local.url}${p.name.replace('/', '%2f')}`);
      if (!response.ok) {
        throw new StepError(
          `${p.name} is not in the registry after publishing (HTTP ${response.status})`,
        );
      }
      const packument = await response.json();
      const published = packument.versions?.[p.manifest.version];
      if (!published) {
        throw new StepError(
          `${p.name}@${p.manifest.version} is not in the registry after publishing`,
        );
      }
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const [dep, range] of Object.entries(published[field] ?? {})) {
          if (String(range).startsWith('workspace:')) {
            fail(`${p.name}@${p.manifest.version} was published with ${field}.${dep} = ${range}`);
          }
        }
      }
      const deps = Object.entries(published.dependencies ?? {})
        .filter(([dep]) => dep.startsWith(SCOPE))
        .map(([dep, range]) => `${dep}@${range}`);
      log(
        `  published ${p.name}@${p.manifest.version}${deps.length ? ` (depends on ${deps.join(', ')})` : ''}`,
      );
    }
  });

  // A fresh project outside the workspace installs what was published, by exact version.
  const consumerFiles = existsSync(CONSUMER_DIR)
    ? readdirSync(CONSUMER_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    : [];
  const consumers = [];
  for (const file of consumerFiles) {
    const name = `${SCOPE}${file.slice(0, -'.ts'.length)}`;
    const p = publicPackages.find((x) => x.name === name);
    if (p) consumers.push({ file, pkg: p });
    else
      log(`  (release-consumer/${file}: ${name} is not a public package being released; skipped)`);
  }
  for (const p of publicPackages) {
    if (!consumers.some((c) => c.pkg === p)) {
      log(
        `  (no release-consumer/${shortName(p.name)}.ts: ${p.name} gets the install and exports checks only)`,
      );
    }
  }
  const published = new Map(publicPackages.map((p) => [p.name, p.manifest.version]));
  const specs = new Map(publicPackages.map((p) => [p.name, p.manifest.version]));
  const supportFiles = existsSync(CONSUMER_SUPPORT_DIR)
    ? readdirSync(CONSUMER_SUPPORT_DIR)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join('support', f))
    : [];
  const consumerSources = [...consumers.map(({ file }) => file), ...supportFiles];
  for (const file of consumerSources) {
    for (const dep of importedPackages(readFileSync(join(CONSUMER_DIR, file), 'utf8'))) {
      if (dep.startsWith(SCOPE)) {
        if (!published.has(dep)) {
          throw new StepError(
            `release-consumer/${file} imports ${dep}, which is not being released`,
          );
        }
      } else if (!specs.has(dep)) {
        specs.set(dep, pinnedVersion(dep, publicPackages, rootManifest));
      }
    }
  }
  specs.set('typescript', pinnedVersion('typescript', [], rootManifest));
  // A consumer that uses Node's built-in modules type-checks against Node's types, as a Node app would.
  if (
    consumerSources.some((file) =>
      /from 'node:/.test(readFileSync(join(CONSUMER_DIR, file), 'utf8')),
    )
  ) {
    specs.set('@types/node', pinnedVersion('@types/node', [], rootManifest));
  }

  const consumerRoot = join(temp, 'consumer');
  await step('npm install the published packages into a fresh project', async () => {
    createProject(consumerRoot, 'ew-release-consumer', local.url);
    if (supportFiles.length > 0) mkdirSync(join(consumerRoot, 'src', 'support'));
    for (const file of consumerSources)
      copyFileSync(join(CONSUMER_DIR, file), join(consumerRoot, 'src', file));
    const args = [...specs].map(([name, version]) => `${name}@${version}`);
    log(`  npm install ${args.join(' ')}`);
    await npmInstallExact(consumerRoot, args, registryEnv, verbose);
    for (const p of publicPackages) {
      const dir = join(consumerRoot, 'node_modules', p.name);
      const installed = existsSync(join(dir, 'package.json'))
        ? readJson(join(dir, 'package.json')).version
        : null;
      if (installed !== p.manifest.version) {
        fail(`${p.name}: installed ${installed ?? 'nothing'}, expected ${p.manifest.version}`);
        continue;
      }
      const missing = missingEntryPoints(dir);
      if (missing.length > 0) {
        fail(
          `${p.name}@${installed}: its package.json points at files the package does not contain`,
          missing.join('\n'),
        );
      } else log(`  ${p.name}@${installed}: every exports/main/types target exists`);
    }
  });

  const tsc = join(consumerRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  await step('type-check the consumers (tsc --noEmit, module NodeNext)', async () => {
    if (consumers.length === 0) return log('  no consumers');
    try {
      await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], {
        cwd: consumerRoot,
        verbose,
      });
      log(
        `  ${consumers.map((c) => c.file).join(', ')}: no type errors against the published .d.ts`,
      );
    } catch (error) {
      if (!(error instanceof StepError)) throw error;
      // tfjs-layers 4.22's own declarations do not pass TypeScript 5's lib check (index-signature
      // and interface errors inside node_modules/@tensorflow/tfjs-layers; tfjs's projects set
      // skipLibCheck). Every other error, ours included, still fails the check.
      const errors = String(error.output ?? error.detail)
        .split('\n')
        .filter((line) => /error TS\d+/.test(line));
      const ours = errors.filter((line) => !/node_modules\/@tensorflow\//.test(line));
      if (errors.length === 0 || ours.length > 0) {
        fail('tsc found errors in the consumers', ours.length > 0 ? ours.join('\n') : error.detail);
      } else {
        log(
          `  ${consumers.map((c) => c.file).join(', ')}: no type errors against the published .d.ts ` +
            `(${errors.length} errors inside @tensorflow's own declarations, which fail the lib check upstream, not counted)`,
        );
      }
    }
  });

  await step('run the consumers in Node', async () => {
    if (consumers.length === 0) return log('  no consumers');
    await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noCheck'], {
      cwd: consumerRoot,
      verbose,
    });
    for (const { file } of consumers) {
      const js = join('out', file.replace(/\.ts$/, '.js'));
      try {
        const output = await run(process.execPath, [js], {
          cwd: consumerRoot,
          verbose,
          timeoutMs: 120_000,
        });
        log(indent(output.trimEnd(), `  ${file}: `));
      } catch (error) {
        if (!(error instanceof StepError)) throw error;
        fail(`${file} failed`, withoutStack(error.detail));
      }
    }
  });

  await step('build and browser-test the playground from the registry', () =>
    checkPlayground({
      temp,
      registryUrl: local.url,
      registryEnv,
      published,
      packages: all,
      verbose,
      log,
      fail,
    }),
  );

  // A package that needs no tfjs (neither it nor the packages of ours it depends on name
  // @tensorflow/*) must install alone, without tfjs or other packages of ours it does not depend
  // on; its consumer (if any) must type-check and run there too.
  const namesTfjs = (/** @type {string} */ name) => {
    const m = byName.get(name)?.manifest ?? {};
    const deps = Object.keys({
      ...m.dependencies,
      ...m.peerDependencies,
      ...m.optionalDependencies,
    });
    return deps.some((d) => d.startsWith('@tensorflow/'));
  };
  const pure = publicPackages.filter((p) => ![...scopeClosure(p.name, byName)].some(namesTfjs));
  for (const p of pure) {
    await step(`install ${p.name} alone`, async () => {
      const dir = join(temp, `alone-${shortName(p.name)}`);
      createProject(dir, `ew-release-alone-${shortName(p.name)}`, local.url);
      await npmInstallExact(dir, [`${p.name}@${p.manifest.version}`], registryEnv, verbose);
      const allowed = scopeClosure(p.name, byName);
      const installed = installedPackages(join(dir, 'node_modules')).map(([name]) => name);
      const unwanted = installed.filter(
        (name) => name.startsWith('@tensorflow/') || (name.startsWith(SCOPE) && !allowed.has(name)),
      );
      log(
        `  node_modules holds ${installed.length} package(s): ${[...new Set(installed)].sort().join(', ')}`,
      );
      if (unwanted.length > 0) {
        fail(`installing ${p.name} alone brought in ${[...new Set(unwanted)].join(', ')}`);
      }
      const consumer = consumers.find((c) => c.pkg === p);
      if (!consumer) return;
      copyFileSync(join(CONSUMER_DIR, consumer.file), join(dir, 'src', consumer.file));
      // Only the support files this consumer reaches: the others may import tfjs.
      const support = supportFilesOf(consumer.file);
      if (support.length > 0) mkdirSync(join(dir, 'src', 'support'));
      for (const file of support) copyFileSync(join(CONSUMER_DIR, file), join(dir, 'src', file));
      try {
        await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, verbose });
        const js = join('out', consumer.file.replace(/\.ts$/, '.js'));
        await run(process.execPath, [js], { cwd: dir, verbose, timeoutMs: 120_000 });
        log(`  ${consumer.file} type-checks and runs with only ${p.name} installed`);
      } catch (error) {
        if (!(error instanceof StepError)) throw error;
        fail(`${consumer.file} fails with only ${p.name} installed`, withoutStack(error.detail));
      }
    });
  }

  return publicPackages;
}

/**
 * The files under release-consumer/support that `file` imports, directly or through one another,
 * as paths relative to release-consumer.
 */
function supportFilesOf(/** @type {string} */ file) {
  const found = new Set();
  const visit = (/** @type {string} */ from) => {
    const source = readFileSync(join(CONSUMER_DIR, from), 'utf8');
    for (const [, name] of source.matchAll(/from '\.{1,2}\/(?:support\/)?([\w.]+)\.js'/g)) {
      const path = join('support', `${name}.ts`);
      if (!found.has(path) && existsSync(join(CONSUMER_DIR, path))) {
        found.add(path);
        visit(path);
      }
    }
  };
  visit(file);
  return [...found];
}

let exitCode = 0;
try {
  const released = await main();
  if (failures.length > 0) {
    exitCode = 1;
    printSummary();
    log(`\nrelease check FAILED (${failures.length} problem(s)):`);
    for (const f of failures) log(bullet(f));
  } else {
    printSummary();
    log(
      `\nrelease check passed: ${released.map((p) => `${p.name}@${p.manifest.version}`).join(', ')}`,
    );
  }
} catch (error) {
  exitCode = 1;
  printSummary();
  const message = error instanceof Error ? error.message : String(error);
  log(`\nrelease check FAILED: ${message}`);
  if (error instanceof StepError && error.detail) log(indent(error.detail));
  else if (!(error instanceof StepError) && error instanceof Error && error.stack) log(error.stack);
  for (const f of failures) log(bullet(f));
  const registryLog = /** @type {Registry | null} */ (registry)?.log();
  if (registryLog) log(`\nlast lines of the verdaccio log:\n${indent(registryLog)}`);
} finally {
  await cleanup();
}
process.exit(exitCode);
