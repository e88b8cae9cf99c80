/** The errors the SDK throws and reports. */
import type { ErrorCode } from "../generated/contract.js";

export type { ErrorCode };

/**
 * The errors this package throws: an `Error` whose `name` is `"CinelockError"`, with a `code`
 * (one of {@link ErrorCode}, generated from the Rust contract). A policy refusal (`denied`)
 * carries the server's `reason`, and `retryAfterMs` for `rate_limited`.
 */
export interface CinelockError extends Error {
  name: "CinelockError";
  code: ErrorCode;
  /** With `denied`: why (`token_required`, `origin_not_allowed`, `rate_limited`, ...). */
  reason?: string;
  /** With `denied` / `rate_limited`: when to try again. */
  retryAfterMs?: number;
  /** With a server error: its HTTP status. */
  status?: number;
  /** With a playback error about one object: its track and index. */
  track?: string;
  index?: number;
}

export function isCinelockError(e: unknown): e is CinelockError {
  return e instanceof Error && e.name === "CinelockError" && typeof (e as { code?: unknown }).code === "string";
}
