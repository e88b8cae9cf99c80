/**
 * Resumable uploads straight to the bucket: sealed in the browser part by part (constant
 * memory), each part PUT to a presigned URL whose signature covers the part's checksum. Every
 * decision (what next, retries, backoff, concurrency, which parts a resumed upload skips) is the
 * core's upload engine's; this file starts it, in a worker where it can, and relays its events.
 */
import type { CreatedUpload, UploadEvent, UploadProgress, WorkerState } from "../generated/contract.js";
import { cinelockError } from "../internal/errors.js";
import { allRecords, deleteRecord, loadRecord, openResumeStore, saveRecord, type ResumeRecord } from "../internal/resume-store.js";
import { countUploadUntil } from "../internal/neighbours.js";
import { instantiate, wasm } from "../internal/wasm.js";
import { prepareWorker, runInWorker, type Control } from "../internal/upload-worker-pool.js";
import { reportWorkerFailure, workersAvailable } from "../internal/workers.js";
import { isCinelockError } from "./errors.js";
import type { Engine } from "./seal.js";

export type { CreatedUpload, UploadEvent, UploadProgress };

export interface UploadOptions {
  /** Base URL of the Cinelock server, e.g. `https://video.example.com`. */
  endpoint: string;
  /** The create response your backend got for this file. Omit when resuming by `resume`. */
  upload?: CreatedUpload;
  /** Resume a stored upload by id (see {@link pendingUploads}) after a page reload. */
  resume?: string;
  /**
   * PUTs at once (default 4). One more part is sealed ahead of them; sealed parts wait as Blobs,
   * so the page's memory holds only the two 8 MiB buffers parts are sealed in. Uploads running
   * side by side share six PUTs at once, the most a browser runs to one host over HTTP/1.1.
   */
  maxParallel?: number;
  /**
   * A part's PUT that sends nothing and gets no answer for this long, in ms, is aborted and
   * sent again, as a network failure (a `retrying` event with reason `"timeout"`), and one
   * fewer PUT runs at once for a while. A signing request unanswered for as long is asked
   * again, and a part whose read and seal take as long is read and sealed again. The
   * completion request, which waits while the store puts the object together, is given ten
   * times as long before it is asked again. Default 30000; at least 1000; 0 turns it off.
   */
  stallTimeoutMs?: number;
  engine?: Engine;
  /**
   * Run reading, sealing, hashing and the PUTs in a Web Worker (default: true where module
   * workers exist), so the page stays responsive. A page's uploads share one worker, which is
   * let go 10 s after its last upload ends. `false` runs on the calling thread,
   * as does a page whose Content-Security-Policy forbids the worker (said once on the console;
   * `stats().worker` is then `"failed"`).
   */
  worker?: boolean;
  onProgress?: (progress: UploadProgress) => void;
  onEvent?: (event: UploadEvent) => void;
}

/** Where an upload ran. */
export interface UploadStats {
  /** `running`: in its worker; `failed`: the worker could not start (see `workerError`); `off`: on the calling thread by choice. */
  worker: WorkerState;
  workerError?: string;
}

/** The `detail` of each event an {@link UploadHandle} dispatches, by type. */
export type UploadEventMap = { [K in UploadEvent["type"]]: Extract<UploadEvent, { type: K }> };

type Listener<K extends keyof UploadEventMap> = (this: UploadHandle, ev: CustomEvent<UploadEventMap[K]>) => unknown;

/** A running upload. Events are `CustomEvent`s whose `detail` is the {@link UploadEvent}. */
export interface UploadHandle extends EventTarget {
  readonly uploadId: string;
  readonly assetId: string;
  /** Resolves when the upload is complete; rejects with a CinelockError otherwise. */
  readonly done: Promise<{ uploadId: string; assetId: string }>;
  /** Stops sending at once: requests that are out are aborted, and their parts sent again on `resume()`. */
  pause(): void;
  resume(): void;
  abort(): void;
  stats(): UploadStats;
  addEventListener<K extends keyof UploadEventMap>(type: K, listener: Listener<K>, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof UploadEventMap>(type: K, listener: Listener<K>, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

class Handle extends EventTarget {
  constructor(
    readonly uploadId: string,
    readonly assetId: string,
    readonly done: Promise<{ uploadId: string; assetId: string }>,
    private readonly control: { pause(): void; resume(): void; abort(): void },
    private readonly status: UploadStats,
  ) {
    super();
  }

  pause(): void { this.control.pause(); }
  resume(): void { this.control.resume(); }
  abort(): void { this.control.abort(); }
  stats(): UploadStats { return { ...this.status }; }
}

/** Uploads stored in this browser that can be resumed (after a reload, say). */
export async function pendingUploads(): Promise<{ uploadId: string; fileName: string; fileSize: number; lastModified: number }[]> {
  return (await allRecords()).map(({ uploadId, fileName, fileSize, lastModified }) => ({ uploadId, fileName, fileSize, lastModified }));
}

/** Hands an event to the options' callbacks and the handle's listeners. */
function relay(options: UploadOptions, target: () => EventTarget | undefined, backlog: UploadEvent[], event: UploadEvent): void {
  if (event.type === "progress") options.onProgress?.(event);
  options.onEvent?.(event);
  const t = target();
  if (t) t.dispatchEvent(new CustomEvent(event.type, { detail: event }));
  else backlog.push(event);
}

/**
 * Uploads a file: sealed in the browser part by part (constant memory), each part PUT straight to
 * the bucket with a presigned URL whose signature covers the part's checksum. Finished parts are
 * remembered in IndexedDB, so after a reload `upload(file, { endpoint, resume: uploadId })`
 * continues without sending them again.
 */
export async function upload(file: Blob, options: UploadOptions): Promise<UploadHandle> {
  if (wantsWorker(options)) return uploadInWorker(file, options);
  return uploadHere(file, options, { worker: "off" });
}

/** Whether uploads with these options go to the page's upload worker. */
function wantsWorker(options: { worker?: boolean }): boolean {
  const inWorkerScope = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";
  return options.worker !== false && !inWorkerScope && workersAvailable();
}

/** What {@link prepareUploads} takes. */
export interface PrepareUploadsOptions {
  /** Prepare where `upload()` with the same `worker` option runs (default: the upload worker). */
  worker?: boolean;
}

/**
 * Gets the page ready for its next uploads, so that the first `upload()` starts at once: starts
 * the page's upload worker, loads the WebAssembly module in it, opens the store of resume
 * records and rehearses one upload there (a made-up file through the real code, its requests
 * answered in memory: nothing leaves the page). A page's first upload otherwise pays for all of
 * that before its first PUT, about 50–70 ms here.
 *
 * Call it when the user is about to pick a file (a file input's `click`, a drop zone's
 * `dragenter`), or when a page made for uploading loads; calling it again does nothing more.
 * Resolves with where uploads will run. A prepared worker that no upload comes to is let go
 * after a minute (the next upload starts another).
 */
export async function prepareUploads(options: PrepareUploadsOptions = {}): Promise<UploadStats> {
  if (!wantsWorker(options)) {
    await prepareHere();
    return { worker: "off" };
  }
  let why: string | undefined;
  try {
    why = await prepareWorker();
  } catch (e) {
    // A CSP that forbids workers: uploads will run on this thread.
    why = e instanceof Error ? e.message : String(e);
  }
  if (why === undefined) return { worker: "running" };
  reportWorkerFailure("upload", why);
  await prepareHere();
  return { worker: "failed", workerError: why };
}

let preparedHere: Promise<void> | undefined;

/** Prepares this thread for uploads: the module, the resume store, and one rehearsal. */
export function prepareHere(): Promise<void> {
  preparedHere ??= (async () => {
    await instantiate();
    // A failed rehearsal changes nothing later: the upload then compiles what it runs.
    await Promise.all([openResumeStore().catch(() => undefined), wasm.warmUpUpload().catch(() => undefined)]);
  })();
  return preparedHere;
}

async function uploadInWorker(file: Blob, options: UploadOptions): Promise<UploadHandle> {
  let handle: Handle | undefined;
  const backlog: UploadEvent[] = [];
  const { onEvent, onProgress, ...plain } = options;
  let resolveDone!: (v: { uploadId: string; assetId: string }) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<{ uploadId: string; assetId: string }>((ok, fail) => { resolveDone = ok; rejectDone = fail; });
  done.catch(() => undefined); // rejections surface through `ids` or the handle's `done`
  let control: (c: Control) => void;
  const ids = new Promise<{ uploadId: string; assetId: string } | { unloaded: string }>((ok, fail) => {
    try {
      control = runInWorker(file, { ...plain, worker: false }, {
        message(msg) {
          if (msg.kind === "started") ok({ uploadId: msg.uploadId, assetId: msg.assetId });
          else if (msg.kind === "event") relay(options, () => handle, backlog, msg.event);
          else if (msg.kind === "done") ids.then((v) => { if ("uploadId" in v) resolveDone(v); });
          else {
            const e = Object.assign(new Error(msg.message), { name: msg.name, code: msg.code });
            fail(e);
            rejectDone(e);
          }
        },
        failed(loaded, why) {
          if (!loaded) return ok({ unloaded: why });
          const err = cinelockError("platform", why);
          fail(err);
          rejectDone(err);
        },
      });
    } catch (e) {
      // A CSP that forbids workers: the upload runs on this thread instead.
      ok({ unloaded: e instanceof Error ? e.message : String(e) });
    }
  });
  const got = await ids;
  // The worker could not start or load (a CSP, a bundler that did not bundle it): this thread.
  if ("unloaded" in got) {
    reportWorkerFailure("upload", got.unloaded);
    return uploadHere(file, options, { worker: "failed", workerError: got.unloaded });
  }
  handle = new Handle(got.uploadId, got.assetId, done, {
    pause: () => control("pause"),
    resume: () => control("resume"),
    abort: () => control("abort"),
  }, { worker: "running" });
  const h = handle;
  queueMicrotask(() => { for (const e of backlog.splice(0)) h.dispatchEvent(new CustomEvent(e.type, { detail: e })); });
  return handle as UploadHandle;
}

async function uploadHere(file: Blob, options: UploadOptions, status: UploadStats): Promise<UploadHandle> {
  await instantiate();
  // This upload runs the code a rehearsal would: a later prepareUploads() has nothing to do.
  preparedHere ??= Promise.resolve();
  const endpoint = options.endpoint.replace(/\/+$/, "");
  const name = file instanceof File ? file.name : "";
  const modified = file instanceof File ? file.lastModified : 0;
  let record: ResumeRecord | undefined;
  if (options.resume) {
    record = await loadRecord(options.resume);
    if (!record) throw cinelockError("invalid_argument", `no stored upload ${options.resume}`);
  } else {
    if (!options.upload) throw cinelockError("invalid_argument", "pass upload (the create response) or resume");
    record = await loadRecord(options.upload.upload_id);
  }
  // A stored record's seed seals exactly one file: other content under the same key and nonces
  // would reuse AES-GCM nonces. Whether resumed by id or started again with the create
  // response, only the file the record was made for may continue it.
  if (record && (record.fileSize !== file.size || record.fileName !== name || record.lastModified !== modified)) {
    throw cinelockError("invalid_argument", "this is not the file the stored upload was started with");
  }
  const created = (record?.created ?? options.upload) as CreatedUpload;
  // A stored record means the upload was started before: what the store (and the server)
  // hold of it is asked first, however it is continued.
  const stored = record !== undefined;
  if (!record) {
    record = {
      uploadId: created.upload_id,
      endpoint,
      created,
      seed: Array.from(wasm.newSealSeed()),
      etags: {},
      fileName: name,
      fileSize: file.size,
      lastModified: modified,
    };
    await saveRecord(record);
  }
  const rec = record;
  let handle: Handle | undefined;
  const backlog: UploadEvent[] = [];
  const onEvent = (e: UploadEvent) => {
    if (e.type === "partDone") {
      rec.etags[String(e.number)] = e.etag;
      saveRecord(rec).catch(() => undefined);
    }
    relay(options, () => handle, backlog, e);
  };
  // The wasm driver reconciles the recorded parts with the store's listing (the core decides
  // which need no PUT) before it starts.
  const task = wasm.startUpload(
    file,
    {
      endpoint,
      uploadId: created.upload_id,
      assetId: created.asset_id,
      token: created.token,
      plan: created.plan,
      partChecksum: created.part_checksum,
      recipientPublicKey: created.recipient.public_key,
      seed: rec.seed,
      recorded: rec.etags,
      reconcile: stored,
      maxParallel: options.maxParallel,
      stallTimeoutMs: options.stallTimeoutMs,
      engine: options.engine,
    },
    onEvent,
  );
  // Counted while it runs: players and the uploads of other threads and tabs share its
  // connections to the store.
  countUploadUntil(task.done);
  const ids = { uploadId: created.upload_id, assetId: created.asset_id };
  // The resume record goes once the upload is over either way; `done` settles only after that,
  // so a worker terminated at that moment leaves nothing stale behind.
  const forget = () => deleteRecord(rec.uploadId).catch(() => undefined);
  const finished = task.done.then(
    async () => { await forget(); return ids; },
    async (e: unknown) => { if (isCinelockError(e) && e.code === "aborted") await forget(); throw e; },
  );
  handle = new Handle(ids.uploadId, ids.assetId, finished, {
    pause: () => task.pause(),
    resume: () => task.resume(),
    abort: () => task.abort(),
  }, status);
  const h = handle;
  queueMicrotask(() => { for (const e of backlog.splice(0)) h.dispatchEvent(new CustomEvent(e.type, { detail: e })); });
  return handle as UploadHandle;
}
