/**
 * Asking for a playback session before the WebAssembly module has loaded.
 *
 * `play()` called on a page that has not loaded the wasm yet would otherwise wait for its
 * download and compilation before the session request even goes out. Here the one-time X25519
 * key is made with WebCrypto and the same request (the contract's `PlayRequest`) is sent at once;
 * the wasm takes the answer and the secret key over (`open_early` in sdk-wasm/src/session.rs)
 * and checks and opens it exactly as it would its own. Where WebCrypto has no X25519, this
 * resolves to nothing and the wasm asks itself.
 */
import type { PlayRequest } from "../generated/contract.js";

/** What the wasm's `open_early` reads. */
export interface EarlySession {
  /** The one-time X25519 secret key (32 bytes). */
  secret: Uint8Array;
  status: number;
  text: string;
  retryAfter: string | null;
}

export interface EarlyTarget {
  endpoint: string;
  assetId: string;
  token?: string;
  password?: string;
  package?: string;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Sends the session request now; resolves to its answer, or to nothing where it cannot. */
export async function requestEarlySession(target: EarlyTarget): Promise<EarlySession | undefined> {
  // An asset id the wasm would refuse is left to it, so the error is its own.
  if (!target.assetId || typeof crypto === "undefined" || !crypto.subtle) return undefined;
  let pair: CryptoKeyPair;
  try {
    pair = (await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"])) as CryptoKeyPair;
  } catch {
    return undefined; // no X25519 in this browser's WebCrypto
  }
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  // PKCS #8 for X25519 ends with the 32-byte key (RFC 8410).
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const secret = pkcs8.slice(pkcs8.length - 32);
  pkcs8.fill(0);
  const body: PlayRequest = {
    public_key: hex(publicKey),
    ...(target.token ? { token: target.token } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.package ? { package: target.package } : {}),
  };
  const endpoint = target.endpoint.replace(/\/+$/, "");
  try {
    const response = await fetch(`${endpoint}/v1/play/${encodeURIComponent(target.assetId)}`, {
      method: "POST",
      // JSON labelled text/plain, as the wasm sends it (platform::NO_PREFLIGHT): no CORS
      // preflight from a page on another site than the server.
      headers: { "content-type": "text/plain" },
      body: JSON.stringify(body),
    });
    return { secret, status: response.status, text: await response.text(), retryAfter: response.headers.get("retry-after") };
  } catch {
    // The wasm asks again, and says what failed.
    secret.fill(0);
    return undefined;
  }
}
