// Install step: nothing to do when the prebuilt addon loads. Otherwise try to build the addon
// from source; a failed build never fails the install (the kernels then throw a clear error).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const prebuilt = fileURLToPath(
  new URL(`../prebuilds/${process.platform}-${process.arch}/ew_cuda.node`, import.meta.url),
);

try {
  require(prebuilt);
} catch (error) {
  console.warn(`@elementwise/backend-node-cuda: prebuilt addon did not load (${error.message});`);
  console.warn('building from source');
  const script = fileURLToPath(new URL('./build-native.mjs', import.meta.url));
  const result = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.warn(
      '@elementwise/backend-node-cuda: build failed; the package installs, and its kernels will ' +
        'throw until `npm rebuild @elementwise/backend-node-cuda` succeeds with a C++ compiler',
    );
  }
}
