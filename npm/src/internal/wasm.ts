/**
 * The SDK's one WebAssembly instance, loaded on first use. The glue that wasm-bindgen writes
 * finds the `.wasm` with `new URL("cinelock_sdk_wasm_bg.wasm", import.meta.url)`, which bundlers
 * rewrite to the file they emit.
 */
import init, * as wasm from "../../pkg/cinelock_sdk_wasm.js";

export { wasm };

let loading: Promise<void> | undefined;

/**
 * Loads the WebAssembly module once. Every other function calls it; call it early to overlap
 * the download with other work. `wasmUrl` overrides where the `.wasm` file is fetched from
 * (`import wasmUrl from "cinelock/wasm?url"` in Vite, say).
 */
export function load(wasmUrl?: string | URL): Promise<void> {
  loading ??= init(wasmUrl ? { module_or_path: wasmUrl } : undefined).then(() => undefined);
  return loading;
}
