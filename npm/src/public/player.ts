/**
 * Playback of encrypted packages through Media Source Extensions.
 *
 * `play(video, options)` asks the Cinelock server for a playback session (the asset's policy
 * decides), receives the content key sealed to a key made for this session only, and plays the
 * package in `video`: sealed segments are fetched straight from the bucket (or CDN), opened
 * with WebCrypto AES-GCM (the WebAssembly engine where WebCrypto is missing), and appended.
 * Which segments to fetch and at which rendition (adaptive bitrate) is decided by the core's
 * playback engine; this file only types and relays.
 */
import type { CaptionKind, PlayerRetrying, PlayerStats as WasmPlayerStats, Playing, Rendition, RenditionChange, RenditionChangeReason, Stall, StallEnd, TextTrackInfo, TextTracks, WorkerState } from "../generated/contract.js";
import { instantiate, isLoaded, wasm } from "../internal/wasm.js";
import { requestEarlySession, type EarlySession } from "../internal/early-session.js";
import { countReader } from "../internal/neighbours.js";
import { describeWorkerError, reportWorkerFailure, startWorker, workersAvailable, type WorkerStatus } from "../internal/workers.js";
import { cinelockError } from "../internal/errors.js";
import type { CinelockError } from "./errors.js";
import type { Engine } from "./seal.js";

export type { CaptionKind, Rendition, RenditionChange, RenditionChangeReason, TextTrackInfo, TextTracks };

export interface PlayOptions {
  /** Base URL of the Cinelock server, e.g. `https://video.example.com` (default: this page's origin). */
  endpoint?: string;
  /** The asset to play. */
  assetId: string;
  /** A viewer token (`clv2.…`) minted by your backend, for private assets. */
  token?: string;
  /** The asset's password, if its policy has one. */
  password?: string;
  /** `"full"` or `"preview"`. Default: the full package when ready, else the preview. */
  package?: "full" | "preview";
  /** Start at this rendition (a track id such as `"v360"`, or its position, 0 = lowest). */
  startRendition?: string | number;
  /** AES-GCM engine for opening segments. Default `"auto"` (WebCrypto where available). */
  engine?: Engine;
  /** Seconds of media to fetch ahead of the playhead (default 20). */
  bufferGoal?: number;
  /** Seconds of media kept behind the playhead (default 10). */
  backBuffer?: number;
  /**
   * Bits per second assumed before anything has been measured (default 1 000 000). A later
   * player on the same page, of the same server, starts instead from what the last one
   * measured (kept in memory only, never stored): its first segment at the highest rendition
   * that arrives within `seekBudget`, the next at the rendition that measurement sustains.
   * `startRendition` still wins.
   */
  initialBandwidth?: number;
  /**
   * Bits per second a player measured on an earlier visit, as `stats().measuredBandwidth`
   * said, for a page that keeps it itself (the player stores nothing in the browser; where and
   * whether to keep it is the page's choice, under its own consent). The player starts as a
   * page's later player does (above): its first segment within `seekBudget` at that rate, then
   * the rendition it sustains; a measurement the link refutes is dropped. It wins over what
   * this page's last player measured; `startRendition`, or a `setRendition` before the start,
   * wins over it. `null`, or a value that is not a number above zero, is ignored. With
   * `play()` before the SDK's wasm has loaded, it goes to the server in the session request,
   * which chooses the first objects by it and neither logs nor keeps it.
   */
  measuredBandwidth?: number | null;
  /**
   * After a seek to a part not buffered, the longest the segment under the new playhead should
   * take to arrive at the measured rate, in seconds (default 1): when the current rendition's
   * would take longer, that segment comes at a lower rendition; the next one at a rendition
   * that arrives before the first has played, and the ones after those at the current one.
   * A page's later player, started from what the last one measured, starts as such a seek.
   * The segment under the target still out after twice this long is given up and fetched at
   * the lowest rendition.
   * `0`: always the current rendition, for both. A pinned rendition is always kept.
   */
  seekBudget?: number;
  /**
   * No rendition above what the video element shows (default false): the player fetches at
   * most the lowest rendition whose picture is as wide or as high as the element's box in
   * device pixels (CSS size × `devicePixelRatio`), since anything larger would be scaled down
   * on screen. The box is read four times a second: a player made larger (full screen) climbs
   * as soon as the measured rate allows, one made smaller comes down at once (buffered video
   * stays), and a hidden one keeps the cap it had (none if it never showed). For an element
   * sized by CSS: one sized by its own
   * video would cap itself at whatever it shows first. As hls.js's `capLevelToPlayerSize`.
   */
  capToPlayerSize?: boolean;
  /**
   * Fetch and open (authenticate, decrypt) segments in a dedicated worker, off the page's
   * thread (default: true where module workers exist). When the worker cannot start (a
   * Content-Security-Policy without `worker-src blob:` for a cross-origin embed, say), the
   * player opens segments on the page's thread; `stats().workerObjects` tells which.
   */
  worker?: boolean;
  /**
   * Quality-of-experience analytics for the asset's owner (on by default; `false` sends
   * nothing). Nothing is stored in the browser, and Do Not Track or Global Privacy Control make
   * any consent `"anonymous"`. See the package README and `docs/privacy.md`.
   */
  analytics?: boolean;
  /**
   * What the page's consent allows: `"anonymous"` (default: audience measurement without an
   * identifier), `"off"` (no beacons), or `"full"` when the viewer consented, which lets
   * `viewerId` through (the server keeps only a keyed hash of it).
   */
  consent?: "anonymous" | "off" | "full";
  /** Your own id for the viewer, sent under `consent: "full"` only. */
  viewerId?: string;
  /**
   * A caption track to show from the start: its id, or a language tag (`"en"` finds `en-US`).
   * Default: none shows until the viewer (or `player.selectTextTrack()`) picks one.
   */
  textTrack?: string;
}

/** The `detail` of each event a `Player` dispatches (the types come from the Rust contract). */
export interface PlayerEventMap {
  /** Media under the playhead is buffered in every track: playback can begin (once). */
  ready: Record<string, never>;
  /** The video element started or resumed playing. */
  playing: Playing;
  /** The rendition for the next segments changed (the screen follows within a segment). */
  renditionchange: RenditionChange;
  /** Playback stopped for want of data at `at` seconds. */
  stall: Stall;
  /** Playback moves again after a stall. */
  stallend: StallEnd;
  /** The asset's caption tracks are loaded (once, even when it has none), or another one shows. */
  texttracks: TextTracks;
  /** A fetch failed and is tried again (`corrupt`: the object failed authentication). */
  retrying: PlayerRetrying;
  /**
   * Playback stopped for good. `error.code` says why: `denied` (with `error.reason`, such as
   * `token_required` or `origin_not_allowed`), `tampered` (a segment failed authentication
   * twice: it is never appended), `fetch_failed`, `not_ready`, `unknown_asset`, ...
   */
  error: { error: CinelockError };
}

export type PlayerEventType = keyof PlayerEventMap;

/** Counters since the start (for monitoring and benchmarks), and where segments were opened. */
export interface PlayerStats extends WasmPlayerStats {
  /** `running`: segments are opened in the player's worker; `failed`: it could not start (see `workerError`) and they are opened on the page's thread; `off`: no worker was asked for. */
  worker: WorkerState;
  workerError?: string;
}

const EMPTY_STATS: WasmPlayerStats = {
  engine: "", packageKind: "", packageId: "", duration: 0, bandwidthEstimate: 0, measuredBandwidth: null, unmeasuredFetches: 0, objects: 0, sealedBytes: 0,
  plainBytes: 0, fetchMs: 0, decryptMs: 0, decryptFailures: 0, appends: 0, urlRequests: 0, workerObjects: 0, objectsBeforeWorker: 0, sessions: 0,
  earlyObjects: 0, earlyObjectsUnused: 0,
  viewId: null, beaconsSent: 0, beaconEvents: 0, beaconsFailed: 0,
};

type PlayerListener<K extends PlayerEventType> = (this: Player, ev: CustomEvent<PlayerEventMap[K]>) => unknown;

/** Typed `addEventListener` / `removeEventListener` for the player's events. */
export interface Player {
  addEventListener<K extends PlayerEventType>(type: K, listener: PlayerListener<K>, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends PlayerEventType>(type: K, listener: PlayerListener<K>, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/**
 * One playback session on a `<video>` element. Events are `CustomEvent`s whose `detail` is
 * typed by {@link PlayerEventMap}. Call `destroy()` when done: it aborts fetches,
 * lets go of the element and forgets the key.
 */
export class Player extends EventTarget {
  readonly video: HTMLVideoElement;
  /** Resolves on `ready`; rejects with the error if playback fails before that. */
  readonly ready: Promise<void>;
  #handle: wasm.PlayerHandle | undefined;
  #destroyed = false;
  #error: PlayerEventMap["error"]["error"] | null = null;
  #pendingRendition: string | undefined;
  #worker: WorkerStatus = { state: "off" };
  /** Lets go of this player's place in the page's count (uploads leave players connections: internal/neighbours.ts). */
  #uncount = countReader();

  constructor(video: HTMLVideoElement, options: PlayOptions) {
    super();
    this.video = video;
    let resolveReady!: () => void;
    let rejectReady!: (e: unknown) => void;
    this.ready = new Promise<void>((ok, fail) => { resolveReady = ok; rejectReady = fail; });
    this.ready.catch(() => undefined); // also reported as an `error` event
    this.addEventListener("ready", () => resolveReady());
    this.addEventListener("error", (e) => rejectReady(e.detail.error));
    const { endpoint = globalThis.location?.origin ?? "", worker = true, ...rest } = options;
    // Asked for now; the wasm starts it once playback can begin (`#startWorker`).
    if (worker && workersAvailable()) this.#worker = { state: "starting" };
    const start = (early?: Promise<EarlySession | undefined>) => {
      if (this.#destroyed) {
        // Destroyed while the wasm loaded: what was asked for early is not wanted.
        early?.then((e) => e?.first.forEach((o) => o.controller.abort())).catch(() => undefined);
        return;
      }
      this.#handle = wasm.startPlayer(video, { endpoint, ...rest }, (e: { type: PlayerEventType } & Record<string, unknown>) => this.#relay(e), worker ? () => this.#startWorker() : undefined, early);
      if (this.#pendingRendition !== undefined) this.setRendition(this.#pendingRendition);
    };
    // Loaded already: the session request goes out now, not after the caller's task (whose
    // `video.play()` alone can hold the thread for milliseconds).
    if (isLoaded()) {
      try {
        start();
      } catch (error) {
        // Reported as an event, as when loading first: listeners are not attached yet.
        queueMicrotask(() => this.#relay({ type: "error", error }));
      }
      return;
    }
    // Not loaded yet: the session is asked for while the wasm loads (without `load()`'s
    // warm-up, which would run the start path once more before the real one).
    const early = requestEarlySession({
      endpoint, assetId: rest.assetId, token: rest.token, password: rest.password, package: rest.package,
      startRendition: rest.startRendition, initialBandwidth: rest.initialBandwidth,
      measuredBandwidth: rest.measuredBandwidth, seekBudget: rest.seekBudget,
    });
    instantiate().then(() => start(early)).catch((error: unknown) => this.#relay({ type: "error", error }));
  }

  /** The player's worker, started here (where bundlers see it) when the wasm asks, and handed to it. */
  #startWorker(): Worker | undefined {
    if (!workersAvailable()) return undefined;
    try {
      const { worker, release } = startWorker("player");
      this.#worker = { state: "starting" };
      let heard = false;
      worker.addEventListener("message", () => {
        if (heard) return;
        heard = true;
        release();
        this.#worker = { state: "running" };
      });
      worker.addEventListener("error", (e) => {
        release();
        const why = heard ? `it broke: ${describeWorkerError(e)}` : describeWorkerError(e);
        if (!heard) reportWorkerFailure("player", why);
        this.#worker = { state: "failed", error: why };
      });
      return worker;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      reportWorkerFailure("player", why);
      this.#worker = { state: "failed", error: why };
      return undefined;
    }
  }

  #relay(e: { type: PlayerEventType } & Record<string, unknown>): void {
    const { type, ...detail } = e;
    if (type === "error") {
      this.#error = detail.error as PlayerEventMap["error"]["error"];
      this.#uncount(); // it fetches nothing more
    }
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** `addEventListener` for one event type, handing the listener the `detail`; returns a function that removes it. */
  on<K extends PlayerEventType>(type: K, listener: (detail: PlayerEventMap[K], event: CustomEvent<PlayerEventMap[K]>) => void): () => void {
    const wrapped = (e: Event) => listener((e as CustomEvent<PlayerEventMap[K]>).detail, e as CustomEvent<PlayerEventMap[K]>);
    this.addEventListener(type, wrapped as EventListener);
    return () => this.removeEventListener(type, wrapped as EventListener);
  }

  /** The video renditions, lowest first (empty until the session is open). */
  renditions(): Rendition[] {
    return (this.#handle?.renditions() ?? []) as Rendition[];
  }

  /** The rendition the next segments are fetched at (`null` before the start). */
  get currentRendition(): string | null {
    return this.#handle?.currentRendition ?? null;
  }

  /** Whether the rendition follows the bandwidth (`setRendition("auto")`, the default). */
  get auto(): boolean {
    return this.#handle?.auto ?? this.#pendingRendition === undefined;
  }

  /** The error playback stopped with, if it did. */
  get error(): PlayerEventMap["error"]["error"] | null {
    return this.#error;
  }

  /**
   * Pins a rendition by id (what is buffered is dropped and refetched at that rendition from
   * the playhead), or `"auto"` to choose by bandwidth again.
   */
  setRendition(id: "auto" | string): void {
    if (!this.#handle) {
      this.#pendingRendition = id;
      return;
    }
    this.#handle.setRendition(id);
  }

  /**
   * The asset's caption and subtitle tracks, in the order they were added (empty until the
   * `texttracks` event). Each is a `<track>` of the video too, so the browser's own controls
   * list them.
   */
  textTracks(): TextTrackInfo[] {
    return (this.#handle?.textTracks() ?? []) as TextTrackInfo[];
  }

  /** Shows the caption track `id` (hiding any other), or none with `null`. */
  selectTextTrack(id: string | null): void {
    if (!this.#handle) throw cinelockError("invalid_argument", "no caption tracks yet: wait for the texttracks event");
    this.#handle.selectTextTrack(id ?? undefined);
  }

  stats(): PlayerStats {
    const stats = (this.#handle?.stats() as WasmPlayerStats | undefined) ?? { ...EMPTY_STATS };
    return { ...stats, worker: this.#worker.state, ...(this.#worker.error ? { workerError: this.#worker.error } : {}) };
  }

  /** Stops playback and releases everything. The player cannot be used afterwards. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#uncount();
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle) {
      handle.destroy();
      handle.free();
    }
  }
}

/**
 * Plays `options.assetId` in `video`. Returns at once; listen for `ready`, `error` and the
 * other events of {@link PlayerEventMap}, or await `player.ready`.
 */
export function play(video: HTMLVideoElement, options: PlayOptions): Player {
  return new Player(video, options);
}
