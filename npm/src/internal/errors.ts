/** Making the SDK's errors in TypeScript (the wasm makes its own the same way). */
import type { ErrorCode } from "../generated/contract.js";
import type { CinelockError } from "../public/errors.js";

/** A `CinelockError` with `code` and any `extra` fields (`reason`, `status`, ...). */
export function cinelockError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): CinelockError {
  return Object.assign(new Error(message), { name: "CinelockError" as const, code }, extra);
}
