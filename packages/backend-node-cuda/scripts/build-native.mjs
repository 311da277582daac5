// Builds the N-API addon: g++ for the host code and the binding, nvcc for the CUDA kernels when
// nvcc is found (CUDA_HOME, /usr/local/cuda, PATH), linked with the static CUDA runtime.
//
//   node scripts/build-native.mjs              -> build/Release/ew_cuda.node (skipped when fresh)
//   node scripts/build-native.mjs --prebuild   -> prebuilds/<platform>-<arch>/ew_cuda.node
//   node scripts/build-native.mjs --emulate    -> build/Emulated/ew_cuda.node: the CUDA kernels
//                                                 compiled by g++ to run on host threads
//                                                 (native/cuda_emulation.h), for tests only
//   node scripts/build-native.mjs --force      rebuild even when fresh
//   EW_BUILD_CUDA=0                            host-only addon even when nvcc exists
//   CXX, NVCC                                  compilers to use
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = new Set(process.argv.slice(2));
const prebuild = args.has('--prebuild');
const emulate = args.has('--emulate');
const outDir = prebuild
  ? join(root, 'prebuilds', `${process.platform}-${process.arch}`)
  : join(root, 'build', emulate ? 'Emulated' : 'Release');
const target = join(outDir, 'ew_cuda.node');
const objDir = join(root, 'build', prebuild ? 'obj-prebuild' : emulate ? 'obj-emulated' : 'obj');
const native = join(root, 'native');

function log(message) {
  console.log(`[build-native] ${message}`);
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function findNvcc() {
  if (process.env.EW_BUILD_CUDA === '0') return undefined;
  if (process.env.NVCC) return process.env.NVCC;
  const candidates = [
    process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'bin', 'nvcc'),
    process.env.CUDA_PATH && join(process.env.CUDA_PATH, 'bin', 'nvcc'),
    '/usr/local/cuda/bin/nvcc',
  ];
  return candidates.find((path) => path && existsSync(path)) ?? findOnPath('nvcc');
}

function nodeIncludeDir() {
  const candidates = [
    join(dirname(dirname(process.execPath)), 'include', 'node'),
    join(process.env.HOME ?? '', '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ];
  const found = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!found) {
    throw new Error(
      `Node headers not found (looked in ${candidates.join(', ')}); run \`npx node-gyp install\``,
    );
  }
  return found;
}

function run(command, commandArgs) {
  return new Promise((resolve, reject) => {
    log(`${command} ${commandArgs.join(' ')}`);
    const child = spawn(command, commandArgs, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`)),
    );
  });
}

const sources = readdirSync(native)
  .sort()
  .map((name) => join(native, name));
// Identifies the sources an addon was built from (`backendInfo().sourceHash`), so a test can
// tell a stale prebuilt binary.
const sourceHash = createHash('sha256');
for (const path of sources) sourceHash.update(readFileSync(path));
const newestInput = Math.max(
  statSync(fileURLToPath(import.meta.url)).mtimeMs,
  ...sources.map((path) => statSync(path).mtimeMs),
);
const nvcc = emulate ? undefined : findNvcc();
const withCuda = nvcc !== undefined || emulate;
if (!args.has('--force') && !prebuild && existsSync(target)) {
  if (statSync(target).mtimeMs >= newestInput) {
    log(`${target} is up to date`);
    process.exit(0);
  }
}

const cxx = process.env.CXX ?? 'g++';
if (spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.error(`[build-native] no C++ compiler (${cxx}); cannot build the addon`);
  process.exit(1);
}
const require = createRequire(import.meta.url);
const addonApi = dirname(require.resolve('node-addon-api/package.json'));
const defines = [
  '-DNAPI_VERSION=8',
  '-DNAPI_CPP_EXCEPTIONS',
  '-DNODE_ADDON_API_DISABLE_DEPRECATED',
];
if (withCuda) defines.push('-DEW_WITH_CUDA');
if (emulate) defines.push('-DEW_CUDA_EMULATION');
defines.push(`-DEW_SOURCE_HASH="${sourceHash.digest('hex').slice(0, 16)}"`);
const cxxFlags = ['-std=c++17', '-O3', '-fPIC', '-pthread', '-Wall', '-Wextra', ...defines];
const includes = [`-I${nodeIncludeDir()}`, `-I${addonApi}`, `-I${native}`];

mkdirSync(objDir, { recursive: true });
mkdirSync(outDir, { recursive: true });
const started = Date.now();
log(
  emulate
    ? 'building the emulation addon: CUDA kernels on host threads (tests only)'
    : withCuda
      ? `nvcc found at ${nvcc}: building the CUDA + host addon`
      : 'nvcc not found (or EW_BUILD_CUDA=0): building the host-only addon',
);
const jobs = [
  () =>
    run(cxx, [
      ...cxxFlags,
      ...includes,
      '-c',
      join(native, 'host.cc'),
      '-o',
      join(objDir, 'host.o'),
    ]),
  () =>
    run(cxx, [
      ...cxxFlags,
      ...includes,
      '-c',
      join(native, 'addon.cc'),
      '-o',
      join(objDir, 'addon.o'),
    ]),
];
if (emulate) {
  jobs.push(() =>
    run(cxx, [
      ...cxxFlags,
      `-I${native}`,
      '-x',
      'c++',
      '-c',
      join(native, 'cuda.cu'),
      '-o',
      join(objDir, 'cuda.o'),
    ]),
  );
} else if (withCuda) {
  const archs = ['75', '80', '90'].flatMap((sm) => [
    '-gencode',
    `arch=compute_${sm},code=sm_${sm}`,
  ]);
  jobs.push(() =>
    run(nvcc, [
      '-std=c++17',
      '-O3',
      '-DEW_WITH_CUDA',
      ...archs,
      '-gencode',
      'arch=compute_90,code=compute_90',
      '-Xcompiler',
      '-fPIC',
      `-I${native}`,
      '-c',
      join(native, 'cuda.cu'),
      '-o',
      join(objDir, 'cuda.o'),
    ]),
  );
}
// At most two compilers at a time.
const queue = [...jobs];
await Promise.all(
  [0, 1].map(async () => {
    while (queue.length > 0) await queue.shift()();
  }),
);
const objects = ['host.o', 'addon.o', ...(withCuda ? ['cuda.o'] : [])].map((o) => join(objDir, o));
const portable = ['-static-libstdc++', '-static-libgcc'];
if (withCuda && !emulate) {
  await run(nvcc, [
    '-shared',
    '-cudart',
    'static',
    '-Xcompiler',
    ['-pthread', ...portable].join(','),
    ...objects,
    '-o',
    target,
  ]);
} else {
  await run(cxx, ['-shared', '-pthread', ...portable, ...objects, '-o', target]);
}
log(
  `built ${target} (${statSync(target).size} bytes) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
