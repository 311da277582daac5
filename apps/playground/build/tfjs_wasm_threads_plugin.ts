import type { Plugin } from 'vite';

const THREADED_FACTORY = /tfjs-backend-wasm[\\/]wasm-out[\\/]tfjs-backend-wasm-threaded-simd\.js$/;

/**
 * Keeps tfjs's threaded WebAssembly backend working in a minified bundle. tfjs starts each
 * thread from the source text of its emscripten factory (`factory.toString()` in a Blob), so the
 * factory must not refer to variables outside itself. It refers to one, `_scriptDir`, declared
 * in the enclosing function and guarded by `typeof _scriptDir !== "undefined"` for exactly this
 * case; a minifier renames the variable and drops the guard (it sees the declaration), and every
 * thread then fails with "ReferenceError: e is not defined". Reading it from `globalThis`
 * instead keeps the guard meaningful and the name intact.
 */
export function tfjsWasmThreadsPlugin(): Plugin {
  return {
    name: 'elementwise-tfjs-wasm-threads',
    enforce: 'pre',
    transform(code, id) {
      if (!THREADED_FACTORY.test(id.split('?')[0])) return null;
      const patched = code.replaceAll('_scriptDir', 'globalThis.__tfjsWasmScriptDir');
      if (patched === code) {
        this.error(`${id} no longer mentions _scriptDir: review tfjsWasmThreadsPlugin`);
      }
      return { code: patched.replace('var globalThis.__tfjsWasmScriptDir', 'globalThis.__tfjsWasmScriptDir'), map: null };
    },
  };
}
