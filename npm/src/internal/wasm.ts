/**
 * The SDK's one WebAssembly instance, loaded on first use. The glue that wasm-bindgen writes
 * finds the `.wasm` with `new URL("cinelock_sdk_wasm_bg.wasm", import.meta.url)`, which bundlers
 * rewrite to the file they emit.
 */
import init, * as wasm from "../../pkg/cinelock_sdk_wasm.js";
import { followNeighbours, neighbours } from "./neighbours.js";

export { wasm };

let instantiating: Promise<void> | undefined;
let loading: Promise<void> | undefined;
let loaded = false;

/**
 * Instantiates the WebAssembly module once, without `load`'s rehearsal of a player's start.
 * Uploads, sealing, recording and downloads need only this. A player started before the module
 * was there waits for this alone too: its session's answer is usually in by then, and the start
 * is then the start path's first run anyway (a rehearsal first would only add a run).
 */
export function instantiate(wasmUrl?: string | URL): Promise<void> {
  instantiating ??= init(wasmUrl ? { module_or_path: wasmUrl } : undefined).then(() => {
    loaded = true;
    // For this thread's uploads, which leave players and other threads' uploads their share of
    // the browser's connections to the store.
    followNeighbours(() => {
      const n = neighbours();
      wasm.setNeighbours(n.players, n.uploaders);
    });
  });
  return instantiating;
}

/** Loads the WebAssembly module once (the public `load` documents it). */
export function load(wasmUrl?: string | URL): Promise<void> {
  loading ??= instantiate(wasmUrl)
    // A rehearsal of a player's start (sdk-wasm/src/warm.rs), run now rather than compiled
    // on the first session's path (the browser compiles wasm functions on first call); a
    // failure here changes nothing later.
    .then(() => wasm.warmUp().catch(() => undefined));
  return loading;
}

/** Whether the module is instantiated, so a caller can start at once rather than a task later. */
export function isLoaded(): boolean {
  return loaded;
}
