/**
 * `<cinelock-player>`: the embeddable player element. One line on any page:
 *
 * ```html
 * <script type="module" src="https://SERVER/sdk/dist/embed.js"></script><cinelock-player asset="…" endpoint="https://SERVER"></cinelock-player>
 * ```
 *
 * Attributes: `asset` (or `src-asset`), `endpoint` (the Cinelock server; it may be left out
 * only when this script was loaded from that server's `/sdk/dist/embed.js`: in an app that
 * bundles the package, set it), `token`, `password`, `package` (`full` | `preview`), `start-rendition`,
 * `captions` (a caption track to show from the start: its id or a language such as `en`),
 * `measured-bandwidth` (bits per second an earlier visit's player measured, that the page kept:
 * `measuredBandwidth`; read when a session starts, so changing it alone starts none),
 * `cap-to-player-size` (no rendition above what the element's box shows: `capToPlayerSize`;
 * read when a session starts), and the
 * video's own `controls`, `autoplay`, `muted`, `loop`, `playsinline`. Changing `asset`,
 * `token`, `password`, `package` or `endpoint` starts a new session. The element re-dispatches
 * the player's events (`ready`, `playing`, `renditionchange`, `stall`, `stallend`,
 * `retrying`, `texttracks`, `error`) on itself, and exposes `player` and `video`. The asset's
 * caption tracks are `<track>`s of the video: its controls' captions menu lists them. The
 * poster shows until playback starts.
 *
 * Importing this module also defines `<cinelock-recorder>` (see `recorder-element.ts`).
 */
import { cinelockError } from "./internal/errors.js";
import { adoptStyle } from "./internal/style.js";
export { CinelockRecorderElement } from "./recorder-element.js";
import { play, type PlayOptions, type Player, type PlayerEventMap, type PlayerEventType } from "./public/player.js";

const SESSION_ATTRS = ["asset", "src-asset", "endpoint", "token", "password", "package", "start-rendition", "analytics", "consent", "viewer-id", "captions"];
const VIDEO_ATTRS = ["controls", "autoplay", "muted", "loop", "playsinline"];
const EVENTS: PlayerEventType[] = ["ready", "playing", "renditionchange", "stall", "stallend", "retrying", "texttracks", "error"];

/**
 * The server this script was loaded from, when it was (`…/sdk/<build>/dist/embed.js` → `…`: the
 * snippet's `…/sdk/dist/embed.js` re-exports the server's current build). A bundled copy of the
 * package lives in the app, not on a Cinelock server: no default there.
 */
const SCRIPT_SERVER = (() => {
  const served = /^(https?:\/\/[^?#]*)\/sdk\/(?:[^/?#]+\/)?dist\/embed\.js(?:[?#].*)?$/.exec(import.meta.url);
  return served ? served[1] : undefined;
})();

const STYLE = `
:host { display: block; position: relative; background: #000; aspect-ratio: 16 / 9; overflow: hidden; }
:host([hidden]) { display: none; }
video { display: block; width: 100%; height: 100%; object-fit: contain; background: #000; }
.message { position: absolute; inset: 0 0 auto 0; padding: 0.6em 0.9em; font: 14px/1.4 system-ui, sans-serif;
  color: #fff; background: #000b; }
.message[hidden] { display: none; }
`;

type ElementListener<K extends PlayerEventType> = (this: CinelockPlayerElement, ev: CustomEvent<PlayerEventMap[K]>) => unknown;

/** Typed `addEventListener` / `removeEventListener` for the player's events, re-dispatched on the element. */
export interface CinelockPlayerElement {
  addEventListener<K extends PlayerEventType>(type: K, listener: ElementListener<K>, options?: boolean | AddEventListenerOptions): void;
  addEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: (this: CinelockPlayerElement, ev: HTMLElementEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends PlayerEventType>(type: K, listener: ElementListener<K>, options?: boolean | EventListenerOptions): void;
  removeEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: (this: CinelockPlayerElement, ev: HTMLElementEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** A number attribute: absent, or not a number, is undefined. */
function numberAttr(v: string | null): number | undefined {
  const n = v === null ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function consentAttr(v: string | null): PlayOptions["consent"] {
  return v === "off" || v === "full" || v === "anonymous" ? v : undefined;
}

export class CinelockPlayerElement extends HTMLElement {
  static observedAttributes = [...SESSION_ATTRS, ...VIDEO_ATTRS];

  readonly video: HTMLVideoElement;
  #player: Player | undefined;
  #message: HTMLElement;
  #restart = 0;

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    this.video = document.createElement("video");
    this.video.setAttribute("part", "video");
    this.#message = document.createElement("div");
    this.#message.className = "message";
    this.#message.setAttribute("role", "status");
    this.#message.hidden = true;
    root.append(this.video, this.#message);
    adoptStyle(root, STYLE);
  }

  /** The current session's player (undefined while none). */
  get player(): Player | undefined {
    return this.#player;
  }

  connectedCallback(): void {
    for (const a of VIDEO_ATTRS) this.#syncVideo(a);
    this.#start();
  }

  disconnectedCallback(): void {
    this.#stop();
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (old === value) return;
    if (VIDEO_ATTRS.includes(name)) this.#syncVideo(name);
    else if (this.isConnected) {
      // Several attributes set in a row start one session.
      const n = ++this.#restart;
      queueMicrotask(() => { if (n === this.#restart && this.isConnected) this.#start(); });
    }
  }

  #syncVideo(name: string): void {
    const on = this.hasAttribute(name);
    if (name === "muted") this.video.muted = on; // the attribute alone only sets the default
    if (on) this.video.setAttribute(name, "");
    else this.video.removeAttribute(name);
  }

  #start(): void {
    this.#stop();
    const assetId = this.getAttribute("asset") ?? this.getAttribute("src-asset");
    if (!assetId) return;
    const start = this.getAttribute("start-rendition");
    const pkg = this.getAttribute("package");
    const endpoint = this.getAttribute("endpoint") ?? SCRIPT_SERVER;
    if (!endpoint) {
      const error = cinelockError("invalid_argument", "<cinelock-player> needs an endpoint attribute (the Cinelock server's URL): this copy of the SDK was not loaded from a Cinelock server, so it cannot tell which one to ask");
      this.#show("This player is not configured: it has no endpoint.");
      this.dispatchEvent(new CustomEvent("error", { detail: { error }, bubbles: true, composed: true }));
      console.error(`cinelock: ${error.message}`);
      return;
    }
    const player = play(this.video, {
      endpoint,
      assetId,
      token: this.getAttribute("token") ?? undefined,
      password: this.getAttribute("password") ?? undefined,
      package: pkg === "full" || pkg === "preview" ? pkg : undefined,
      startRendition: start === null ? undefined : /^\d+$/.test(start) ? Number(start) : start,
      // analytics="off" turns beacons off; consent="off" | "anonymous" | "full".
      analytics: this.getAttribute("analytics") !== "off",
      consent: consentAttr(this.getAttribute("consent")),
      viewerId: this.getAttribute("viewer-id") ?? undefined,
      textTrack: this.getAttribute("captions") ?? undefined,
      measuredBandwidth: numberAttr(this.getAttribute("measured-bandwidth")),
      capToPlayerSize: this.hasAttribute("cap-to-player-size") && this.getAttribute("cap-to-player-size") !== "false",
    });
    this.#player = player;
    for (const type of EVENTS) {
      player.addEventListener(type, (e) => {
        if (this.#player !== player) return;
        const detail = (e as CustomEvent).detail;
        if (type === "error") this.#show(describe(detail.error));
        if (type === "ready") this.#show(null);
        this.dispatchEvent(new CustomEvent(type, { detail, bubbles: type === "error", composed: true }));
      });
    }
    // Autoplay with sound is often blocked: fall back to muted, so the embed still starts.
    if (this.hasAttribute("autoplay")) {
      player.ready.then(() => this.video.play()).catch((e: unknown) => {
        if ((e as Error)?.name === "NotAllowedError" && !this.video.muted) {
          this.video.muted = true;
          this.video.play().catch(() => undefined);
        }
      });
    }
  }

  #stop(): void {
    this.#player?.destroy();
    this.#player = undefined;
    this.#show(null);
  }

  #show(text: string | null): void {
    this.#message.hidden = text === null;
    this.#message.textContent = text ?? "";
  }
}

function describe(error: { code?: string; reason?: string; message?: string } | undefined): string {
  if (!error) return "Playback failed.";
  if (error.code === "denied") {
    const why: Record<string, string> = {
      token_required: "This video is private: it plays with a viewer token.",
      token_expired: "The link to this video has expired.",
      password_required: "This video needs a password.",
      password_wrong: "Wrong password.",
      origin_not_allowed: "This video cannot be played on this site.",
      origin_missing: "This video cannot be played on this site.",
      geo_not_allowed: "This video is not available in your country.",
      ip_not_allowed: "This video is not available from your network.",
      rate_limited: "Too many attempts; try again later.",
    };
    return why[error.reason ?? ""] ?? `Playback is not allowed (${error.reason}).`;
  }
  if (error.code === "not_ready") return "This video is still processing.";
  if (error.code === "asset_failed") return "This video could not be processed.";
  if (error.code === "tampered") return "This video failed its integrity check and was stopped.";
  return error.message ? `Playback failed: ${error.message}` : `Playback failed (${error.code ?? "error"}).`;
}

if (!customElements.get("cinelock-player")) customElements.define("cinelock-player", CinelockPlayerElement);

declare global {
  interface HTMLElementTagNameMap {
    "cinelock-player": CinelockPlayerElement;
  }
}
