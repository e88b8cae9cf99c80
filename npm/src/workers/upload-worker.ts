/**
 * The upload worker: runs the uploads the page hands it (internal/upload-worker-pool.ts) off
 * the page's main thread (reading the file, sealing, hashing, PUTs, IndexedDB), several at once
 * if the page starts several, and relays each one's events.
 */
import type { Control, FromWorker, ToWorker } from "../internal/upload-worker-pool.js";
import { tellNeighbours } from "../internal/neighbours.js";
import { isCinelockError } from "../public/errors.js";
import { prepareHere, upload, type UploadHandle, type UploadOptions } from "../public/upload.js";

const scope = self as unknown as { postMessage(m: FromWorker): void; onmessage: ((m: MessageEvent<ToWorker>) => void) | null };

/** The uploads running here, by the page's id. */
const running = new Map<number, UploadHandle>();

const controls: Record<Control, (h: UploadHandle) => void> = {
  pause: (h) => h.pause(),
  resume: (h) => h.resume(),
  abort: (h) => h.abort(),
};

scope.onmessage = (m: MessageEvent<ToWorker>) => {
  const msg = m.data;
  if (msg.kind === "neighbours") tellNeighbours(msg.neighbours);
  else if (msg.kind === "prepare") void prepareHere().finally(() => scope.postMessage({ kind: "prepared" }));
  else if (msg.kind === "start") void run(msg.id, msg.file, msg.options as unknown as UploadOptions);
  else {
    const handle = running.get(msg.id);
    if (handle) controls[msg.kind](handle);
  }
};

async function run(id: number, file: Blob, options: UploadOptions): Promise<void> {
  try {
    const handle = await upload(file, { ...options, worker: false, onEvent: (event) => scope.postMessage({ id, kind: "event", event }) });
    running.set(id, handle);
    scope.postMessage({ id, kind: "started", uploadId: handle.uploadId, assetId: handle.assetId });
    try {
      await handle.done;
    } finally {
      running.delete(id);
    }
    scope.postMessage({ id, kind: "done" });
  } catch (e) {
    const err = e as Error & { code?: string };
    scope.postMessage({ id, kind: "error", name: isCinelockError(e) ? "CinelockError" : err.name, code: err.code ?? "platform", message: err.message });
  }
}
