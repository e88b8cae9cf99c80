/**
 * Cinelock: sealed (AES-256-GCM, HPKE-wrapped key) streams in the browser: sealing, resumable
 * uploads, and playback of encrypted packages ({@link play}, and `<cinelock-player>` in
 * `embed.js`).
 *
 * Bulk encryption runs on WebCrypto where `crypto.subtle` exists and falls back to the
 * WebAssembly build of the same core elsewhere; both produce identical bytes. Blobs are read and
 * written window by window, so memory stays flat for any file size.
 */
import init, * as wasm from "../pkg/cinelock_sdk_wasm.js";
import { allRecords, deleteRecord, loadRecord, saveRecord, type ResumeRecord } from "./resume-store.js";

/** Which AES-GCM implementation to use. `auto` picks WebCrypto when available. */
export type Engine = "auto" | "webcrypto" | "wasm";

export interface SealOptions {
  /** Plaintext bytes per chunk (64 B to 16 MiB). Default: {@link DEFAULT_CHUNK_SIZE}. */
  chunkSize?: number;
  engine?: Engine;
  /**
   * What the stream is for (at most 255 bytes; a string is taken as UTF-8). It is bound to the
   * data key: the stream opens only for the same context. Default: the empty context.
   * `upload()` seals for the upload's asset id.
   */
  context?: string | Uint8Array;
}

export interface OpenOptions {
  engine?: Engine;
  /** The context the stream was sealed for (see {@link SealOptions.context}). */
  context?: string | Uint8Array;
}

function contextBytes(context: string | Uint8Array | undefined): Uint8Array | undefined {
  return typeof context === "string" ? new TextEncoder().encode(context) : context;
}

/** A recipient key pair. The secret half belongs on the transcode workers, never in a page. */
export interface RecipientKeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  keyId: string;
}

/** Machine-readable failure codes carried by {@link CinelockError}. */
export type ErrorCode =
  | "decrypt"
  | "malformed"
  | "unsupported"
  | "chunk_size"
  | "wrong_recipient"
  | "invalid_key"
  | "too_long"
  | "invalid_argument"
  | "no_webcrypto"
  | "read"
  | "platform"
  | "aborted"
  | "upload_rejected"
  | "no_such_upload"
  | "retries_exhausted"
  | "signing_failed"
  | "complete_failed"
  // Playback (see player.ts):
  | "denied"
  | "unknown_asset"
  | "not_ready"
  | "session_invalid"
  | "session_expired"
  | "server_error"
  | "network"
  | "invalid_manifest"
  | "bad_manifest"
  | "tampered"
  | "fetch_failed"
  | "append_failed"
  | "quota_exceeded"
  | "unsupported_media"
  | "media_error"
  | "destroyed";

/** The errors this package throws: an `Error` whose `name` is `"CinelockError"`, with a `code`. */
export interface CinelockError extends Error {
  name: "CinelockError";
  code: ErrorCode;
}

export function isCinelockError(e: unknown): e is CinelockError {
  return e instanceof Error && e.name === "CinelockError" && typeof (e as { code?: unknown }).code === "string";
}

/** Default plaintext chunk size (256 KiB), chosen from the measurements in docs/benchmarks.md. */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;

export { play, Player } from "./player.js";
export { download } from "./download.js";
export type { DownloadOptions, DownloadResult } from "./download.js";
export type { PlayOptions, PlayerEventMap, PlayerEventType, PlayerStats, Rendition, RenditionChangeReason } from "./player.js";

let loading: Promise<void> | undefined;

/**
 * Loads the WebAssembly module once. Every other function calls it; call it early to overlap
 * the download with other work. `wasmUrl` overrides where the `.wasm` file is fetched from.
 */
export function load(wasmUrl?: string | URL): Promise<void> {
  loading ??= init(wasmUrl ? { module_or_path: wasmUrl } : undefined).then(() => undefined);
  return loading;
}

/** Generates a recipient key pair from the browser's CSPRNG (for tests and demos). */
export async function generateRecipientKey(): Promise<RecipientKeyPair> {
  await load();
  const pair = wasm.generateRecipientKey();
  try {
    return { secretKey: pair.secretKey, publicKey: pair.publicKey, keyId: pair.keyId };
  } finally {
    pair.free();
  }
}

/** The key id (16 hex digits) that headers sealed to `publicKey` carry. */
export async function keyId(publicKey: Uint8Array): Promise<string> {
  await load();
  return wasm.recipientKeyId(publicKey);
}

/** The engine `engine` resolves to in this context. */
export async function resolveEngine(engine: Engine = "auto"): Promise<"webcrypto" | "wasm"> {
  await load();
  return wasm.resolveEngine(engine) as "webcrypto" | "wasm";
}

/** Seals bytes or a Blob (a File) to a recipient public key. Blobs stay Blobs: constant memory. */
export async function seal(recipientPublicKey: Uint8Array, data: Uint8Array, options?: SealOptions): Promise<Uint8Array>;
export async function seal(recipientPublicKey: Uint8Array, data: Blob, options?: SealOptions): Promise<Blob>;
export async function seal(recipientPublicKey: Uint8Array, data: Uint8Array | Blob, options: SealOptions = {}): Promise<Uint8Array | Blob> {
  await load();
  const { chunkSize, engine } = options;
  const context = contextBytes(options.context);
  return data instanceof Blob
    ? wasm.sealBlob(recipientPublicKey, data, chunkSize, engine, context)
    : wasm.sealBytes(recipientPublicKey, data, chunkSize, engine, context);
}

/**
 * Opens a sealed stream with the recipient secret key. All or nothing: any tampering, truncation
 * or reordering rejects with a `CinelockError` whose code is `"decrypt"`, and no plaintext is
 * returned.
 */
export async function open(recipientSecretKey: Uint8Array, sealed: Uint8Array, options?: OpenOptions): Promise<Uint8Array>;
export async function open(recipientSecretKey: Uint8Array, sealed: Blob, options?: OpenOptions): Promise<Blob>;
export async function open(recipientSecretKey: Uint8Array, sealed: Uint8Array | Blob, options: OpenOptions = {}): Promise<Uint8Array | Blob> {
  await load();
  const context = contextBytes(options.context);
  return sealed instanceof Blob
    ? wasm.openBlob(recipientSecretKey, sealed, options.engine, context)
    : wasm.openBytes(recipientSecretKey, sealed, options.engine, context);
}

/**
 * Wraps a producer that calls `emit(chunk)` per piece (awaiting what it returns) as a
 * ReadableStream with backpressure: the producer waits whenever the queue is full.
 */
function streamFrom(produce: (emit: (chunk: Uint8Array) => Promise<void> | undefined) => Promise<void>, highWaterMark = 4): ReadableStream<Uint8Array> {
  let wake: (() => void) | undefined;
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const emit = (chunk: Uint8Array) => {
          if (cancelled) return Promise.reject(new DOMException("stream cancelled", "AbortError"));
          controller.enqueue(chunk);
          return (controller.desiredSize ?? 1) > 0 ? undefined : new Promise<void>((resolve) => (wake = resolve));
        };
        // Not awaited: start() must return for reads to begin; the producer runs alongside.
        produce(emit).then(
          () => controller.close(),
          (e) => { if (!cancelled) controller.error(e); },
        );
      },
      pull() {
        wake?.();
        wake = undefined;
      },
      cancel() {
        cancelled = true;
        wake?.();
      },
    },
    { highWaterMark },
  );
}

/**
 * Seals bytes or a Blob as a stream of sealed pieces (header, then chunk by chunk), produced as
 * fast as the reader consumes them: memory stays flat whatever the size.
 */
export function sealStream(recipientPublicKey: Uint8Array, data: Uint8Array | Blob, options: SealOptions = {}): ReadableStream<Uint8Array> {
  return streamFrom(async (emit) => {
    await load();
    await wasm.sealTo(recipientPublicKey, data, options.chunkSize, options.engine, contextBytes(options.context), emit);
  });
}

/**
 * Opens a sealed stream as a stream of plaintext, chunk by chunk; each chunk is authenticated
 * before it is released. The plaintext is valid only if the stream closes normally: an error
 * (tampering, truncation) means everything read so far must be discarded.
 */
export function openStream(recipientSecretKey: Uint8Array, sealed: Uint8Array | Blob, options: OpenOptions = {}): ReadableStream<Uint8Array> {
  return streamFrom(async (emit) => {
    await load();
    await wasm.openTo(recipientSecretKey, sealed, options.engine, contextBytes(options.context), emit);
  });
}

/** Plaintext length of a sealed stream, from its header and total length. */
export async function plaintextLength(header: Uint8Array, sealedLength: number): Promise<number> {
  await load();
  return wasm.plaintextLength(header, sealedLength);
}

/** The server's answer to `POST /v1/uploads` (made by your backend with its API key). */
export interface CreatedUpload {
  upload_id: string;
  asset_id: string;
  token: string;
  token_expires_at: number;
  plan: { plaintext_len: number; chunk_size: number; chunks_per_part: number; part_count: number; sealed_len: number };
  recipient: { public_key: string; key_id: string };
}

export interface UploadProgress {
  sealedBytes: number;
  ackedBytes: number;
  totalBytes: number;
  /** Bytes per second acknowledged by the store, over the last few seconds. */
  rate: number;
  etaMs: number | null;
}

export type UploadEvent =
  | ({ type: "progress" } & UploadProgress)
  | { type: "partDone"; number: number; etag: string }
  | { type: "retrying"; number: number | null; attempt: number; delayMs: number; reason: string }
  | { type: "paused" | "resumed" | "completed" | "aborted" }
  | { type: "failed"; code: ErrorCode; message: string };

export interface UploadOptions {
  /** Base URL of the Cinelock server, e.g. `https://video.example.com`. */
  endpoint: string;
  /** The create response your backend got for this file. Omit when resuming by `resume`. */
  upload?: CreatedUpload;
  /** Resume a stored upload by id (see {@link pendingUploads}) after a page reload. */
  resume?: string;
  /** Parts sealed and sent at once (default 4; memory is about this many parts, 8 MiB each). */
  maxParallel?: number;
  engine?: Engine;
  /**
   * Run reading, sealing, hashing and the PUTs in a dedicated Web Worker (default: true where
   * module workers exist), so the page stays responsive. `false` runs on the calling thread,
   * as does a page whose Content-Security-Policy forbids the worker. A page on another origin
   * than the SDK starts the worker through a `blob:` module that imports it.
   */
  worker?: boolean;
  onProgress?: (progress: UploadProgress) => void;
  onEvent?: (event: UploadEvent) => void;
}

export interface UploadHandle {
  readonly uploadId: string;
  readonly assetId: string;
  /** Resolves when the upload is complete; rejects with a CinelockError otherwise. */
  readonly done: Promise<{ uploadId: string; assetId: string }>;
  pause(): void;
  resume(): void;
  abort(): void;
}

/** Uploads stored in this browser that can be resumed (after a reload, say). */
export async function pendingUploads(): Promise<{ uploadId: string; fileName: string; fileSize: number; lastModified: number }[]> {
  return (await allRecords()).map(({ uploadId, fileName, fileSize, lastModified }) => ({ uploadId, fileName, fileSize, lastModified }));
}

/** Lists what the store already holds, so a resumed upload skips parts that made it. */
async function listedParts(endpoint: string, created: CreatedUpload): Promise<{ number: number; size: number; etag: string | null }[]> {
  const res = await fetch(`${endpoint}/v1/uploads/${created.upload_id}`, { headers: { authorization: `Bearer ${created.token}` } });
  if (!res.ok) return [];
  return ((await res.json()).parts ?? []) as { number: number; size: number; etag: string | null }[];
}

/**
 * Uploads a file: sealed in the browser part by part (constant memory), each part PUT straight to
 * the bucket with a presigned URL whose signature covers the part's SHA-256. Finished parts are
 * remembered in IndexedDB, so after a reload `upload(file, { endpoint, resume: uploadId })`
 * continues without sending them again.
 */
export async function upload(file: Blob, options: UploadOptions): Promise<UploadHandle> {
  const inWorkerScope = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";
  if (options.worker !== false && !inWorkerScope && typeof Worker !== "undefined") {
    return uploadInWorker(file, options);
  }
  return uploadHere(file, options);
}

/** Messages from the upload worker (upload-worker.ts). */
type FromWorker =
  | { kind: "started"; uploadId: string; assetId: string }
  | { kind: "event"; event: UploadEvent }
  | { kind: "done" }
  | { kind: "error"; name: string; code: string; message: string };

function workerError(m: { name: string; code: string; message: string }): Error {
  return Object.assign(new Error(m.message), { name: m.name, code: m.code });
}

interface ModuleWorker {
  worker: Worker;
  /** Call once the worker has answered or failed: a `blob:` URL can go. */
  release(): void;
}

/**
 * Starts the module worker at `url`. A worker's own script must be same-origin, so one on
 * another origin than the page (the SDK served by a Cinelock server, imported by a customer's
 * page) is started through a `blob:` module that imports it.
 */
function startModuleWorker(url: URL): ModuleWorker {
  if (url.origin === globalThis.location?.origin) return { worker: new Worker(url, { type: "module" }), release: () => undefined };
  const trampoline = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};`], { type: "text/javascript" }));
  try {
    return { worker: new Worker(trampoline, { type: "module" }), release: () => URL.revokeObjectURL(trampoline) };
  } catch (e) {
    URL.revokeObjectURL(trampoline);
    throw e;
  }
}

async function uploadInWorker(file: Blob, options: UploadOptions): Promise<UploadHandle> {
  let spawned: ModuleWorker;
  try {
    spawned = startModuleWorker(new URL("./upload-worker.js", import.meta.url));
  } catch {
    // A CSP that forbids workers: the upload runs on this thread instead.
    return uploadHere(file, options);
  }
  const { worker, release } = spawned;
  // Nothing heard from the worker before an error: its script did not load.
  let heard = false;
  const { onEvent, onProgress, ...plain } = options;
  let resolveDone!: (v: { uploadId: string; assetId: string }) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<{ uploadId: string; assetId: string }>((ok, fail) => { resolveDone = ok; rejectDone = fail; });
  const started = new Promise<{ uploadId: string; assetId: string } | "unloaded">((ok, fail) => {
    worker.onmessage = (m: MessageEvent<FromWorker>) => {
      const msg = m.data;
      heard = true;
      release();
      if (msg.kind === "started") ok({ uploadId: msg.uploadId, assetId: msg.assetId });
      else if (msg.kind === "event") {
        if (msg.event.type === "progress") onProgress?.(msg.event);
        onEvent?.(msg.event);
      } else if (msg.kind === "done") {
        started.then((ids) => { if (ids !== "unloaded") resolveDone(ids); });
        worker.terminate();
      } else {
        const e = workerError(msg);
        fail(e);
        rejectDone(e);
        worker.terminate();
      }
    };
    worker.onerror = (e) => {
      release();
      if (!heard) {
        worker.terminate();
        ok("unloaded");
        return;
      }
      const err = Object.assign(new Error(`upload worker failed: ${e.message}`), { name: "CinelockError", code: "platform" });
      fail(err);
      rejectDone(err);
    };
  });
  done.catch(() => undefined); // rejections surface through `started` or the handle's `done`
  worker.postMessage({ file, options: { ...plain, worker: false } });
  const ids = await started;
  // The worker could not load (a CSP, say): the upload runs on this thread instead.
  if (ids === "unloaded") return uploadHere(file, options);
  return {
    ...ids,
    done,
    pause: () => worker.postMessage("pause"),
    resume: () => worker.postMessage("resume"),
    abort: () => worker.postMessage("abort"),
  };
}

async function uploadHere(file: Blob, options: UploadOptions): Promise<UploadHandle> {
  await load();
  const endpoint = options.endpoint.replace(/\/+$/, "");
  const name = file instanceof File ? file.name : "";
  const modified = file instanceof File ? file.lastModified : 0;
  let record: ResumeRecord | undefined;
  if (options.resume) {
    record = await loadRecord(options.resume);
    if (!record) throw Object.assign(new Error(`no stored upload ${options.resume}`), { name: "CinelockError", code: "invalid_argument" });
  } else {
    if (!options.upload) throw Object.assign(new Error("pass upload (the create response) or resume"), { name: "CinelockError", code: "invalid_argument" });
    record = await loadRecord(options.upload.upload_id);
  }
  // A stored record's seed seals exactly one file: other content under the same key and nonces
  // would reuse AES-GCM nonces. Whether resumed by id or started again with the create
  // response, only the file the record was made for may continue it.
  if (record && (record.fileSize !== file.size || record.fileName !== name || record.lastModified !== modified)) {
    throw Object.assign(new Error("this is not the file the stored upload was started with"), { name: "CinelockError", code: "invalid_argument" });
  }
  const created = (record?.created ?? options.upload) as CreatedUpload;
  if (!record) {
    record = {
      uploadId: created.upload_id,
      endpoint,
      created,
      seed: Array.from(crypto.getRandomValues(new Uint8Array(71))),
      etags: {},
      fileName: name,
      fileSize: file.size,
      lastModified: modified,
    };
    await saveRecord(record);
  }
  // Reconcile with the store: keep our ETags for parts it still has, and adopt parts it lists
  // with an ETag (sealed from the same seed, so the same bytes) that we never recorded.
  const done = new Map<number, string>();
  if (Object.keys(record.etags).length > 0 || options.resume) {
    const plan = created.plan;
    for (const p of await listedParts(endpoint, created)) {
      const full = plan.chunks_per_part * (plan.chunk_size + 16);
      const lastStart = plan.part_count === 1 ? 0 : 107 + (plan.part_count - 1) * full;
      const expected = p.number < plan.part_count ? full + (p.number === 1 ? 107 : 0) : plan.sealed_len - lastStart;
      const etag = record.etags[String(p.number)] ?? p.etag;
      if (etag && p.size === expected && p.number >= 1 && p.number <= plan.part_count) done.set(p.number, etag);
    }
  }
  const rec = record;
  const onEvent = (e: UploadEvent) => {
    if (e.type === "partDone") {
      rec.etags[String(e.number)] = e.etag;
      saveRecord(rec).catch(() => undefined);
    }
    if (e.type === "progress") options.onProgress?.(e);
    options.onEvent?.(e);
  };
  const task = wasm.startUpload(
    file,
    {
      endpoint,
      uploadId: created.upload_id,
      assetId: created.asset_id,
      token: created.token,
      plan: created.plan,
      recipientPublicKey: created.recipient.public_key,
      seed: rec.seed,
      done: [...done.entries()],
      maxParallel: options.maxParallel,
      engine: options.engine,
    },
    onEvent,
  );
  const ids = { uploadId: created.upload_id, assetId: created.asset_id };
  // The resume record goes once the upload is over either way; `done` settles only after that,
  // so a worker terminated at that moment leaves nothing stale behind.
  const forget = () => deleteRecord(rec.uploadId).catch(() => undefined);
  const finished = task.done.then(
    async () => { await forget(); return ids; },
    async (e: unknown) => { if (isCinelockError(e) && e.code === "aborted") await forget(); throw e; },
  );
  return {
    ...ids,
    done: finished,
    pause: () => task.pause(),
    resume: () => task.resume(),
    abort: () => task.abort(),
  };
}
