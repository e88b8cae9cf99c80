/**
 * Starting the SDK's two workers (uploads, and the player's segment opener).
 *
 * Each is created with the literal `new Worker(new URL("…", import.meta.url), { type: "module" })`
 * that Vite, webpack 5, Rollup and esbuild's worker plugins recognise: a bundled app gets the
 * worker bundled too, with the SDK and the `.wasm` it imports. A page on another origin than
 * the SDK (the one-line embed, loading the SDK straight from a Cinelock server) may not start a
 * worker from the SDK's URL, so it starts a `blob:` module that imports it.
 *
 * A worker that fails to start is said once on the console and recorded (the player's and the
 * upload's `stats()` show it); the caller then works on the page's thread.
 */
import type { WorkerState } from "../generated/contract.js";

export type WorkerKind = "upload" | "player";

/** A started worker; `release()` once it has answered (a `blob:` URL can go then). */
export interface StartedWorker {
  worker: Worker;
  release(): void;
}

/** Whether this page may start module workers at all. */
export function workersAvailable(): boolean {
  return typeof Worker !== "undefined";
}

/** Starts the `kind` worker; throws what the browser threw (a CSP that forbids it, say). */
export function startWorker(kind: WorkerKind): StartedWorker {
  try {
    // The literal forms bundlers rewrite: keep them exactly like this.
    const worker =
      kind === "upload"
        ? new Worker(new URL("../workers/upload-worker.js", import.meta.url), { type: "module" })
        : new Worker(new URL("../workers/player-worker.js", import.meta.url), { type: "module" });
    return { worker, release: () => undefined };
  } catch (e) {
    // A worker's script must be on the page's origin: the SDK served from elsewhere (the
    // embed snippet) gets a SecurityError, and goes through a `blob:` module instead.
    if (!(e instanceof DOMException && e.name === "SecurityError")) throw e;
  }
  // Only the unbundled SDK gets here: a name built at run time, which bundlers leave alone.
  const script = new URL("../workers/" + kind + "-worker.js", import.meta.url).href;
  const trampoline = URL.createObjectURL(new Blob([`import ${JSON.stringify(script)};`], { type: "text/javascript" }));
  try {
    return { worker: new Worker(trampoline, { type: "module" }), release: () => URL.revokeObjectURL(trampoline) };
  } catch (e) {
    URL.revokeObjectURL(trampoline);
    throw e;
  }
}

const warned = new Set<WorkerKind>();

/** Says once per kind on the console that the worker could not start, and why. */
export function reportWorkerFailure(kind: WorkerKind, why: string): void {
  if (warned.has(kind)) return;
  warned.add(kind);
  console.warn(`cinelock: the ${kind} worker could not start (${why}); working on the page's thread instead. If a bundler is involved, see the package README ("Bundlers").`);
}

/** Where one worker stands, for `stats()`. */
export interface WorkerStatus {
  state: WorkerState;
  error?: string;
}

/** What an `error` event before any message says about why the worker did not start. */
export function describeWorkerError(e: Event): string {
  const message = (e as ErrorEvent).message;
  return message ? message : "its script did not load";
}
