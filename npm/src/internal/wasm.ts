/**
 * The SDK's one WebAssembly instance, loaded on first use. The glue that wasm-bindgen writes
 * finds the `.wasm` with `new URL("cinelock_sdk_wasm_bg.wasm", import.meta.url)`, which bundlers
 * rewrite to the file they emit.
 */
import init, * as wasm from "../../pkg/cinelock_sdk_wasm.js";

export { wasm };

let loading: Promise<void> | undefined;
let loaded = false;

/** Loads the WebAssembly module once (the public `load` documents it). */
export function load(wasmUrl?: string | URL): Promise<void> {
  loading ??= init(wasmUrl ? { module_or_path: wasmUrl } : undefined)
    // The player's start path, run once now rather than on the first session (the browser
    // compiles wasm functions on first call); a failure here changes nothing later.
    .then(() => wasm.warmUp().catch(() => undefined))
    .then(() => {
      loaded = true;
    });
  return loading;
}

/** Whether the module is loaded, so a caller can start at once rather than a task later. */
export function isLoaded(): boolean {
  return loaded;
}
