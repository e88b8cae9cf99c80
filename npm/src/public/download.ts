/**
 * Downloading an asset's original file, when its policy (and the viewer token, if any) allows
 * downloads. The server releases the sealed upload's data key to a one-time key made here, and
 * signs a URL for the sealed upload in the bucket; the file is fetched, opened and authenticated
 * chunk by chunk in the browser and written to a `WritableStream` (a file from
 * `showSaveFilePicker`, an OPFS file, or any sink), so memory stays flat for any size.
 */
import { countReader } from "../internal/neighbours.js";
import { instantiate, wasm } from "../internal/wasm.js";
import type { Engine } from "./seal.js";

export interface DownloadOptions {
  /** The Cinelock server, e.g. `https://video.example.com`. */
  endpoint: string;
  assetId: string;
  /** A viewer token from the customer's backend (needed for private assets). */
  token?: string;
  /** The asset's password, if it has one. */
  password?: string;
  engine?: Engine;
  /** Called with the plaintext bytes written so far. */
  onProgress?: (written: number, total: number) => void;
}

export interface DownloadResult {
  filename: string | null;
  size: number;
}

/**
 * Downloads the original file of `assetId` into `destination`. The stream is closed when every
 * byte has been written and authenticated; on any failure it is aborted (so a partial file is
 * never left looking complete) and the promise rejects with a `CinelockError`
 * (`denied` with a `reason`, `decrypt` if the stored file was tampered with, ...).
 */
export async function download(options: DownloadOptions, destination: WritableStream<Uint8Array>): Promise<DownloadResult> {
  await instantiate();
  const writer = destination.getWriter();
  let grant: wasm.DownloadGrant | undefined;
  // Its GET shares the browser's connections to the store with the page's uploads, which leave
  // it two as they leave a player (internal/neighbours.ts).
  const uncount = countReader();
  try {
    // The session is asked for, and the released key opened, in the SDK's core.
    grant = await wasm.openDownload({
      endpoint: options.endpoint,
      assetId: options.assetId,
      token: options.token,
      password: options.password,
    });
    const total = grant.size;
    let written = 0;
    await grant.write(options.engine, async (chunk: Uint8Array) => {
      await writer.write(chunk);
      written += chunk.length;
      options.onProgress?.(written, total);
    });
    await writer.close();
    return { filename: grant.filename ?? null, size: written };
  } catch (e) {
    await writer.abort(e).catch(() => {});
    throw e;
  } finally {
    // Zeroes the data key.
    grant?.free();
    writer.releaseLock();
    uncount();
  }
}
