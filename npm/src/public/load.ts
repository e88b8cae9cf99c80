/** Loading the WebAssembly module ahead of use. */
import { load as loadWasm } from "../internal/wasm.js";

/**
 * Loads the WebAssembly module once; call it early to overlap the download with other work.
 * Every other function loads the module itself when it must. `wasmUrl` overrides where the
 * `.wasm` file is fetched from (`import wasmUrl from "cinelock/wasm?url"` in Vite, say).
 *
 * In a page, it then rehearses a player's start once, so that a first `play()` runs compiled
 * code: a player on a `<video>` that is never added to the document plays made-up data answered
 * from memory (no request leaves the page), and is let go at its first append. That costs the
 * page's thread about 50 ms once; a page that only uploads or records need not call `load()`
 * (`prepareUploads()` readies a page for uploads).
 */
export function load(wasmUrl?: string | URL): Promise<void> {
  return loadWasm(wasmUrl);
}
