/** Loading the WebAssembly module ahead of use. */
import { load as loadWasm } from "../internal/wasm.js";

/**
 * Loads the WebAssembly module once. Every other function calls it; call it early to overlap
 * the download with other work. `wasmUrl` overrides where the `.wasm` file is fetched from
 * (`import wasmUrl from "cinelock/wasm?url"` in Vite, say).
 */
export function load(wasmUrl?: string | URL): Promise<void> {
  return loadWasm(wasmUrl);
}
