/**
 * The upload worker: runs `upload()` off the page's main thread (reading the file, sealing,
 * hashing, PUTs, IndexedDB), and relays its events. Started by `upload()` (public/upload.ts).
 */
import { isCinelockError } from "../public/errors.js";
import { upload, type UploadOptions } from "../public/upload.js";

interface Start {
  file: Blob;
  options: UploadOptions;
}

const scope = self as unknown as { postMessage(m: unknown): void; onmessage: ((m: MessageEvent) => void) | null };

scope.onmessage = async (m: MessageEvent<Start>) => {
  const { file, options } = m.data;
  try {
    const handle = await upload(file, { ...options, worker: false, onEvent: (event) => scope.postMessage({ kind: "event", event }) });
    scope.onmessage = (c: MessageEvent<string>) => {
      if (c.data === "pause") handle.pause();
      else if (c.data === "resume") handle.resume();
      else if (c.data === "abort") handle.abort();
    };
    scope.postMessage({ kind: "started", uploadId: handle.uploadId, assetId: handle.assetId });
    await handle.done;
    scope.postMessage({ kind: "done" });
  } catch (e) {
    const err = e as Error & { code?: string };
    scope.postMessage({ kind: "error", name: isCinelockError(e) ? "CinelockError" : err.name, code: err.code ?? "platform", message: err.message });
  }
};
