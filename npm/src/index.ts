/**
 * Cinelock: sealed (AES-256-GCM, HPKE-wrapped key) streams in the browser.
 *
 * Bulk encryption runs on WebCrypto where `crypto.subtle` exists and falls back to the
 * WebAssembly build of the same core elsewhere; both produce identical bytes. Blobs are read and
 * written window by window, so memory stays flat for any file size.
 */
import init, * as wasm from "../pkg/cinelock_sdk_wasm.js";

/** Which AES-GCM implementation to use. `auto` picks WebCrypto when available. */
export type Engine = "auto" | "webcrypto" | "wasm";

export interface SealOptions {
  /** Plaintext bytes per chunk (64 B to 16 MiB). Default: {@link DEFAULT_CHUNK_SIZE}. */
  chunkSize?: number;
  engine?: Engine;
}

export interface OpenOptions {
  engine?: Engine;
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
  | "platform";

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
  return data instanceof Blob
    ? wasm.sealBlob(recipientPublicKey, data, chunkSize, engine)
    : wasm.sealBytes(recipientPublicKey, data, chunkSize, engine);
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
  return sealed instanceof Blob
    ? wasm.openBlob(recipientSecretKey, sealed, options.engine)
    : wasm.openBytes(recipientSecretKey, sealed, options.engine);
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
    await wasm.sealTo(recipientPublicKey, data, options.chunkSize, options.engine, emit);
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
    await wasm.openTo(recipientSecretKey, sealed, options.engine, emit);
  });
}

/** Plaintext length of a sealed stream, from its header and total length. */
export async function plaintextLength(header: Uint8Array, sealedLength: number): Promise<number> {
  await load();
  return wasm.plaintextLength(header, sealedLength);
}
