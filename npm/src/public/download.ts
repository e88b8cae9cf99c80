/**
 * Downloading an asset's original file, when its policy (and the viewer token, if any) allows
 * downloads. The server releases the sealed upload's data key to a one-time key made here, and
 * signs a URL for the sealed upload in the bucket; the file is fetched, opened and authenticated
 * chunk by chunk in the browser and written to a `WritableStream` (a file from
 * `showSaveFilePicker`, an OPFS file, or any sink), so memory stays flat for any size.
 */
import type { ErrorBody, PlayAnswer, PlayRequest } from "../generated/contract.js";
import { cinelockError } from "../internal/errors.js";
import { load, wasm } from "../internal/wasm.js";
import { generateRecipientKey, type Engine } from "./seal.js";

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
  await load();
  const player = await generateRecipientKey();
  const writer = destination.getWriter();
  try {
    const url = new URL(`/v1/play/${encodeURIComponent(options.assetId)}`, options.endpoint);
    const request: PlayRequest = {
      public_key: [...player.publicKey].map((b) => b.toString(16).padStart(2, "0")).join(""),
      token: options.token,
      password: options.password,
      download: true,
    };
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = (body as Partial<ErrorBody>).error;
      // The server's codes the SDK passes on are its own; the rest are `server_error`.
      const code = err?.code === "denied" || err?.code === "unknown_asset" || err?.code === "not_ready" ? err.code : "server_error";
      throw cinelockError(code, err?.message ?? `HTTP ${res.status}`, { reason: err?.reason, status: res.status });
    }
    const d = (body as PlayAnswer).download;
    if (!d) throw cinelockError("server_error", "the server granted no download");
    // Not from or into the HTTP cache: the file may be large, and what is opened must be what
    // the bucket holds now.
    const sealed = await fetch(d.url, { cache: "no-store" });
    if (!sealed.ok) throw cinelockError("network", `fetching the file: HTTP ${sealed.status}`);
    // A Blob: the browser keeps large ones on disk, and the opener reads it window by window.
    const blob = await sealed.blob();
    const key = Uint8Array.from(d.key.match(/../g)!.map((h) => parseInt(h, 16)));
    let written = 0;
    await wasm.openReleased(player.secretKey, options.assetId, key, blob, options.engine, async (chunk: Uint8Array) => {
      await writer.write(chunk);
      written += chunk.length;
      options.onProgress?.(written, d.size);
    });
    await writer.close();
    return { filename: d.filename ?? null, size: written };
  } catch (e) {
    await writer.abort(e).catch(() => {});
    throw e;
  } finally {
    player.secretKey.fill(0);
    writer.releaseLock();
  }
}
