/**
 * The SDK's one WebAssembly instance, loaded on first use. The glue that wasm-bindgen writes
 * finds the `.wasm` with `new URL("cinelock_sdk_wasm_bg.wasm", import.meta.url)`, which bundlers
 * rewrite to the file they emit.
 */
import init, * as wasm from "../../pkg/cinelock_sdk_wasm.js";

export { wasm };

let loading: Promise<void> | undefined;

/** Loads the WebAssembly module once (the public `load` documents it). */
export function load(wasmUrl?: string | URL): Promise<void> {
  loading ??= init(wasmUrl ? { module_or_path: wasmUrl } : undefined).then(() => undefined);
  return loading;
}
