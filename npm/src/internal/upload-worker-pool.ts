/**
 * The page's upload worker, shared by its uploads: started by the first `upload()` that wants
 * a worker, given every upload after it (several at once if the page starts several), and let
 * go once none has run for {@link IDLE_MS}. Also the messages between the page and that worker
 * (workers/upload-worker.ts).
 *
 * Why one worker and not one per upload: a worker loads the SDK and compiles the wasm before
 * its upload can start (about 40 ms here, 125 ms for the page's first), and holds its own heap
 * and WebAssembly memory. Sealing leaves the worker's thread mostly idle (WebCrypto encrypts on
 * the browser's own threads), so uploads side by side in one worker do not wait for each other.
 */
import type { UploadEvent } from "../generated/contract.js";
import { followNeighbours, neighboursOfWorker, setWorkerUploading, type Neighbours } from "./neighbours.js";
import { describeWorkerError, startWorker, type StartedWorker } from "./workers.js";

/** How long a worker with no upload is kept for the next one (ms). */
export const IDLE_MS = 10_000;

/**
 * How long a worker prepared by `prepareUploads()` waits for its first upload (ms): it is
 * prepared when the user is about to pick a file, which can take a while.
 */
export const PREPARED_IDLE_MS = 60_000;

/** What an upload in the worker is told after it started. */
export type Control = "pause" | "resume" | "abort";

/** Page → worker. `options` are the upload's, without callbacks (they cannot be cloned). */
export type ToWorker =
  | { kind: "start"; id: number; file: Blob; options: Record<string, unknown> }
  | { kind: Control; id: number }
  | { kind: "prepare" }
  /** What is beside the worker's uploads (players, other threads' uploads), now and after each change. */
  | { kind: "neighbours"; neighbours: Neighbours };

/** Worker → page, each about the upload `id`. */
export type FromWorker =
  | { kind: "prepared" }
  | { id: number; kind: "started"; uploadId: string; assetId: string }
  | { id: number; kind: "event"; event: UploadEvent }
  | { id: number; kind: "done" }
  | { id: number; kind: "error"; name: string; code: string; message: string };

/** How the page hears about one of its uploads in the worker. */
export interface Listener {
  /** A message about this upload; its last is `done` or `error`. */
  message(msg: Exclude<FromWorker, { kind: "prepared" }>): void;
  /** The worker failed. `loaded`: it had said anything before (else its script did not load). */
  failed(loaded: boolean, why: string): void;
}

interface Pool {
  started: StartedWorker;
  /** Whether the worker has said anything yet: an error before that means it never loaded. */
  heard: boolean;
  uploads: Map<number, Listener>;
  idle?: ReturnType<typeof setTimeout>;
  /** `prepareWorker()`'s answer: `undefined` once prepared, or why the worker did not load. */
  prepared?: Promise<string | undefined>;
  settlePrepared?: (why: string | undefined) => void;
  /** Stops telling the worker what is beside its uploads. */
  unfollow: () => void;
}

let pool: Pool | undefined;
let nextId = 1;

/**
 * Hands an upload to the page's worker, starting one if there is none; returns its controls.
 * Throws what the browser threw if a worker could not be made (a CSP that forbids it).
 */
export function runInWorker(file: Blob, options: Record<string, unknown>, listener: Listener): (c: Control) => void {
  const p = pool ?? open();
  if (p.idle !== undefined) {
    clearTimeout(p.idle);
    p.idle = undefined;
  }
  const id = nextId++;
  p.uploads.set(id, listener);
  setWorkerUploading(true);
  post(p, { kind: "start", id, file, options });
  return (kind) => post(p, { kind, id });
}

/**
 * Starts the page's worker if there is none, and has it load the module and rehearse an upload
 * (`prepareHere` in public/upload.ts). Resolves with `undefined` once it has, or with why the
 * worker did not load; throws what the browser threw if a worker could not be made. A prepared
 * worker no upload comes to is let go after {@link PREPARED_IDLE_MS}.
 */
export function prepareWorker(): Promise<string | undefined> {
  const p = pool ?? open();
  if (!p.prepared) {
    p.prepared = new Promise((ok) => { p.settlePrepared = ok; });
    post(p, { kind: "prepare" });
  }
  if (p.uploads.size === 0) {
    if (p.idle !== undefined) clearTimeout(p.idle);
    p.idle = setTimeout(() => close(p), PREPARED_IDLE_MS);
  }
  return p.prepared;
}

function open(): Pool {
  const started = startWorker("upload");
  const p: Pool = { started, heard: false, uploads: new Map(), unfollow: () => undefined };
  // The worker drops what does not change its count (tellNeighbours).
  p.unfollow = followNeighbours(() => post(p, { kind: "neighbours", neighbours: neighboursOfWorker() }));
  started.worker.onmessage = (m: MessageEvent<FromWorker>) => {
    const msg = m.data;
    if (!p.heard) {
      p.heard = true;
      p.started.release();
    }
    if (msg.kind === "prepared") return p.settlePrepared?.(undefined);
    p.uploads.get(msg.id)?.message(msg);
    if (msg.kind === "done" || msg.kind === "error") {
      p.uploads.delete(msg.id);
      if (p.uploads.size === 0) setWorkerUploading(false);
      if (p.uploads.size === 0 && pool === p) p.idle = setTimeout(() => close(p), IDLE_MS);
    }
  };
  // Before any message: the script did not load (the caller then uploads on its own thread).
  // After: the worker broke, and every upload in it fails; a new one serves the next upload.
  started.worker.onerror = (e: ErrorEvent) => {
    const loaded = p.heard;
    const why = loaded ? `upload worker failed: ${e.message}` : describeWorkerError(e);
    const uploads = [...p.uploads.values()];
    p.uploads.clear();
    setWorkerUploading(false);
    p.settlePrepared?.(why);
    close(p);
    for (const u of uploads) u.failed(loaded, why);
  };
  pool = p;
  return p;
}

function post(p: Pool, msg: ToWorker): void {
  p.started.worker.postMessage(msg);
}

function close(p: Pool): void {
  if (pool === p) pool = undefined;
  p.unfollow();
  p.settlePrepared?.("the worker was let go before it was prepared");
  if (p.idle !== undefined) clearTimeout(p.idle);
  if (!p.heard) p.started.release();
  p.started.worker.terminate();
}
