/**
 * Sealed streams in the browser: AES-256-GCM chunks under a fresh data key, the key sealed to a
 * recipient's X25519 public key (HPKE), bound to a context (docs/format.md). WebCrypto where
 * `crypto.subtle` exists, the WebAssembly build of the same core elsewhere; both produce
 * identical bytes. Blobs are read and written window by window, so memory stays flat.
 */
import { instantiate, wasm } from "../internal/wasm.js";
import { streamFrom } from "../internal/stream.js";

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

/** A recipient key pair. The secret half belongs on the transcode workers, never in a page. */
export interface RecipientKeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  keyId: string;
}

function contextBytes(context: string | Uint8Array | undefined): Uint8Array | undefined {
  return typeof context === "string" ? new TextEncoder().encode(context) : context;
}

/** Generates a recipient key pair from the browser's CSPRNG (for tests and demos). */
export async function generateRecipientKey(): Promise<RecipientKeyPair> {
  await instantiate();
  const pair = wasm.generateRecipientKey();
  try {
    return { secretKey: pair.secretKey, publicKey: pair.publicKey, keyId: pair.keyId };
  } finally {
    pair.free();
  }
}

/** The key id (16 hex digits) that headers sealed to `publicKey` carry. */
export async function keyId(publicKey: Uint8Array): Promise<string> {
  await instantiate();
  return wasm.recipientKeyId(publicKey);
}

/** The engine `engine` resolves to in this context. */
export async function resolveEngine(engine: Engine = "auto"): Promise<"webcrypto" | "wasm"> {
  await instantiate();
  return wasm.resolveEngine(engine) as "webcrypto" | "wasm";
}

/** Seals bytes or a Blob (a File) to a recipient public key. Blobs stay Blobs: constant memory. */
export async function seal(recipientPublicKey: Uint8Array, data: Uint8Array, options?: SealOptions): Promise<Uint8Array>;
export async function seal(recipientPublicKey: Uint8Array, data: Blob, options?: SealOptions): Promise<Blob>;
export async function seal(recipientPublicKey: Uint8Array, data: Uint8Array | Blob, options: SealOptions = {}): Promise<Uint8Array | Blob> {
  await instantiate();
  const { chunkSize, engine } = options;
  const context = contextBytes(options.context);
  return data instanceof Blob
    ? wasm.sealBlob(recipientPublicKey, data, chunkSize, engine, context)
    : wasm.sealBytes(recipientPublicKey, data, chunkSize, engine, context);
}

/**
 * Opens a sealed stream with the recipient secret key. All or nothing: any tampering, truncation
 * or reordering, or another context than the sealer's, rejects with a `CinelockError` whose code
 * is `"decrypt"`, and no plaintext is returned.
 */
export async function open(recipientSecretKey: Uint8Array, sealed: Uint8Array, options?: OpenOptions): Promise<Uint8Array>;
export async function open(recipientSecretKey: Uint8Array, sealed: Blob, options?: OpenOptions): Promise<Blob>;
export async function open(recipientSecretKey: Uint8Array, sealed: Uint8Array | Blob, options: OpenOptions = {}): Promise<Uint8Array | Blob> {
  await instantiate();
  const context = contextBytes(options.context);
  return sealed instanceof Blob
    ? wasm.openBlob(recipientSecretKey, sealed, options.engine, context)
    : wasm.openBytes(recipientSecretKey, sealed, options.engine, context);
}

/**
 * Seals bytes or a Blob as a stream of sealed pieces (header, then chunk by chunk), produced as
 * fast as the reader consumes them: memory stays flat whatever the size.
 */
export function sealStream(recipientPublicKey: Uint8Array, data: Uint8Array | Blob, options: SealOptions = {}): ReadableStream<Uint8Array> {
  return streamFrom(async (emit) => {
    await instantiate();
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
    await instantiate();
    await wasm.openTo(recipientSecretKey, sealed, options.engine, contextBytes(options.context), emit);
  });
}

/** Plaintext length of a sealed stream, from its header and total length. */
export async function plaintextLength(header: Uint8Array, sealedLength: number): Promise<number> {
  await instantiate();
  return wasm.plaintextLength(header, sealedLength);
}
