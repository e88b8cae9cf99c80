/**
 * An asset's poster without a player: for lists, grids and thumbnails. The poster is sealed
 * like the rest of the package, so this asks for a playback session under the asset's policy
 * (a viewer token for a private asset) and opens the poster in the browser.
 */
import { instantiate, wasm } from "../internal/wasm.js";
import type { Engine } from "./seal.js";

export interface PosterOptions {
  /** The Cinelock server, e.g. `https://video.example.com` (default: this page's origin). */
  endpoint?: string;
  assetId: string;
  /** A viewer token from your backend (needed for private assets). */
  token?: string;
  /** The asset's password, if it has one. */
  password?: string;
  engine?: Engine;
}

/**
 * The asset's poster as a JPEG `Blob`, or `null` while it has none (no package published
 * yet). Show it with `URL.createObjectURL(blob)`, and revoke the URL when done. Rejects with a
 * `CinelockError` as playback would (`denied` with a `reason`, `unknown_asset`, ...).
 */
export async function poster(options: PosterOptions): Promise<Blob | null> {
  await instantiate();
  const { endpoint = globalThis.location?.origin ?? "", ...rest } = options;
  return (await wasm.fetchPoster({ endpoint, ...rest })) ?? null;
}
