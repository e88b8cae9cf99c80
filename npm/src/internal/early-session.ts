/**
 * Asking for a playback session before the WebAssembly module has loaded.
 *
 * `play()` called on a page that has not loaded the wasm yet would otherwise wait for its
 * download and compilation before the session request even goes out. Here the one-time X25519
 * key is made with WebCrypto and the same request (the contract's `PlayRequest`) is sent at once;
 * the wasm takes the answer and the secret key over (`early_answer` in sdk-wasm/src/session.rs)
 * and checks and opens it exactly as it would its own. Where WebCrypto has no X25519, this
 * resolves to nothing and the wasm asks itself.
 *
 * The request says where the player will start (`startRendition`, `initialBandwidth`,
 * `measuredBandwidth`, `seekBudget`), and the answer's `first` names the objects a player
 * started there fetches first, chosen on the server by the engine's own rule: they are asked
 * for at once too, so they arrive while the wasm is still loading. The wasm takes over those it would ask for itself and aborts the others
 * (sdk-wasm/src/first_objects.rs). Nothing here decides which.
 */
import type { PlayAnswer, PlayRequest, RenditionPick } from "../generated/contract.js";

/** What the wasm's `early_answer` and `FirstObjects::sent_by_page` read. */
export interface EarlySession {
  /** The one-time X25519 secret key (32 bytes). */
  secret: Uint8Array;
  status: number;
  text: string;
  retryAfter: string | null;
  /** The GETs of the answer's `first`, sent as the wasm sends its own. */
  first: EarlyObject[];
}

export interface EarlyObject {
  path: string;
  sent: Promise<Response>;
  controller: AbortController;
  /** `performance.now()` when it was sent (the engine measures the link by it). */
  started: number;
}

export interface EarlyTarget {
  endpoint: string;
  assetId: string;
  token?: string;
  password?: string;
  package?: string;
  startRendition?: RenditionPick;
  initialBandwidth?: number;
  measuredBandwidth?: number | null;
  seekBudget?: number;
}

/** A rendition id, or a position in the ladder (a whole number from 0). */
const isPick = (v: unknown): v is RenditionPick => typeof v === "string" || (Number.isSafeInteger(v) && (v as number) >= 0);

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
    // One the server would refuse is left out: the wasm refuses it as the option it is.
    ...(isPick(target.startRendition) ? { start_rendition: target.startRendition } : {}),
    ...(target.initialBandwidth !== undefined ? { initial_bandwidth: target.initialBandwidth } : {}),
    ...(typeof target.measuredBandwidth === "number" ? { measured_bandwidth: target.measuredBandwidth } : {}),
    ...(target.seekBudget !== undefined ? { seek_budget: target.seekBudget } : {}),
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
    const text = await response.text();
    return { secret, status: response.status, text, retryAfter: response.headers.get("retry-after"), first: response.status === 200 ? askFirst(text) : [] };
  } catch {
    // The wasm asks again, and says what failed.
    secret.fill(0);
    return undefined;
  }
}

/** Sends the GETs of the answer's `first` (as the wasm's own: past the HTTP cache). */
function askFirst(text: string): EarlyObject[] {
  let answer: Partial<PlayAnswer>;
  try {
    answer = JSON.parse(text) as Partial<PlayAnswer>;
  } catch {
    return []; // the wasm says what is wrong with it
  }
  const out: EarlyObject[] = [];
  for (const path of Array.isArray(answer.first) ? answer.first : []) {
    const url = answer.urls?.[path];
    if (typeof path !== "string" || typeof url !== "string") continue;
    const controller = new AbortController();
    const started = performance.now();
    const sent = fetch(url, { cache: "no-store", signal: controller.signal });
    // Taken over by the wasm, which reads its outcome; aborted unused, nobody does.
    sent.catch(() => undefined);
    out.push({ path, sent, controller, started });
  }
  return out;
}
