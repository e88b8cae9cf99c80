/**
 * The player's worker: fetches sealed media objects and opens them (authenticates and
 * decrypts) off the page's thread, for one {@link Player}; the plaintext goes back to the page
 * without a copy. Started by `play()` (see sdk-wasm/src/opener.rs for the messages); not for
 * direct use. If it cannot load, or fails, the player opens objects on the page's thread.
 */
import init, { serveOpener } from "../../pkg/cinelock_sdk_wasm.js";

const scope = self as unknown as {
  postMessage(m: unknown): void;
  close(): void;
  addEventListener(type: string, f: (e: MessageEvent) => void, options?: { once: boolean }): void;
};

// The page's first message is its compiled WebAssembly.Module: nothing to fetch or compile here.
const module = new Promise<WebAssembly.Module>((ok) => scope.addEventListener("message", (m) => ok(m.data.module), { once: true }));

// A failure nothing caught (a panic in the wasm, say) leaves this worker unusable: the page is
// told, so it stops waiting for answers and opens segments itself from then on.
scope.addEventListener("unhandledrejection", () => {
  scope.postMessage({ t: "failed" });
  scope.close();
});

// No top-level await: bundlers (Vite by default) emit workers as classic scripts, where it does
// not exist.
void module.then((m) => init({ module_or_path: m })).then(() => serveOpener());
