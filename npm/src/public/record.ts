/**
 * Recording in the browser: camera, screen, or screen with camera (two linked assets), sealed
 * and uploaded *while* recording. The browser's `MediaRecorder` output is sealed slice by slice
 * in the WebAssembly driver, spooled in the browser's storage (OPFS) and sent as a growing
 * upload, so at `stop()` only the last seconds are left to send, memory stays flat for an
 * hour-long recording, and a closed tab loses almost nothing: {@link pendingRecordings} and
 * {@link finishRecording} finish it at the next visit, marked as cut short.
 *
 * Consent: nothing is opened before {@link (Recorder:class).start}, which works only from a user
 * gesture (a click); while recording, a "● REC" badge with the elapsed time sits in the
 * browser's top layer, the document title carries the mark, and leaving the page asks first.
 * Recordings are private assets like any other upload.
 */
import type { CreatedUpload, RecorderEvent, RecorderProgress, RecorderStopReason } from "../generated/contract.js";
import { cinelockError } from "../internal/errors.js";
import { elapsed, showIndicator, type Indicator } from "../internal/rec-indicator.js";
import { allRecordings, deleteRecording, loadRecording, saveRecording, type RecordingRecord } from "../internal/resume-store.js";
import { countUploadUntil } from "../internal/neighbours.js";
import { instantiate, wasm } from "../internal/wasm.js";
import { isCinelockError } from "./errors.js";

export type { RecorderEvent, RecorderProgress, RecorderStopReason };

/** What is recorded: `screen+camera` makes two assets, the camera's linked to the screen's. */
export type RecordSource = "camera" | "screen" | "screen+camera";

/** One of a recording's tracks. */
export type RecordKind = "camera" | "screen";

/** What {@link RecordOptions.createUpload} is asked for. */
export interface CreateRecordingRequest {
  kind: RecordKind;
  /** The asset this one goes with (the screen's, for the camera of `screen+camera`): pass it as `linked_to`. */
  linkedTo?: string;
}

export interface RecordOptions {
  /** Base URL of the Cinelock server. */
  endpoint: string;
  /**
   * Gets a growing upload from your backend: it calls `POST /v1/uploads` with its API key and
   * no `size` (and `linked_to` when asked), and returns the answer.
   */
  createUpload(request: CreateRecordingRequest): Promise<CreatedUpload>;
  /** Default `camera`. */
  source?: RecordSource;
  /** Record the microphone (camera) or the tab/system audio (screen) where the browser gives it. Default true. */
  audio?: boolean;
  /** Constraints for the camera's video (default: `true`). */
  video?: MediaTrackConstraints | boolean;
  /** Seconds counted down (3-2-1) before recording starts. Default 0. */
  countdown?: number;
  /** Stop by itself after this much recorded time (pauses excluded). */
  maxDurationMs?: number;
  /** Stop by itself after this many recorded bytes (per track). */
  maxBytes?: number;
  /** `MediaRecorder` format (default: the best this browser records; WebM VP9/VP8 in Chromium). */
  mimeType?: string;
  videoBitsPerSecond?: number;
  audioBitsPerSecond?: number;
  /** How often the recorder hands over a slice, in ms (default 1000). */
  timesliceMs?: number;
  /** Parts sent at once per track (default 4). */
  maxParallel?: number;
  /**
   * A part's PUT that sends nothing and gets no answer for this long, in ms, is aborted and
   * sent again; so is a signing request, and a part's read and seal. The completion request
   * is given ten times as long (default 30000; at least 1000; 0 turns it off).
   */
  stallTimeoutMs?: number;
  /** Every event, as it comes. */
  onEvent?: (event: RecorderEventDetail) => void;
}

/** An event of one track of the recording. */
export type RecorderEventDetail = RecorderEvent & { kind: RecordKind };

/** Where a recorder is in its life. */
export type RecorderState = "idle" | "starting" | "countdown" | "recording" | "paused" | "stopping" | "uploaded" | "failed" | "cancelled";

/** A stored track of a recording. */
export interface RecordingResult {
  kind: RecordKind;
  assetId: string;
  uploadId: string;
  /** Finished from what was sealed before its page went away. */
  cutShort: boolean;
  plaintextBytes: number;
}

/** The `detail` of each event a {@link (Recorder:class)} dispatches, by type. */
export type RecorderEventMap = { [K in RecorderEventDetail["type"]]: Extract<RecorderEventDetail, { type: K }> } & {
  countdown: { type: "countdown"; secondsLeft: number };
  statechange: { type: "statechange"; state: RecorderState };
};

type Listener<K extends keyof RecorderEventMap> = (this: Recorder, ev: CustomEvent<RecorderEventMap[K]>) => unknown;

interface Track {
  kind: RecordKind;
  created: CreatedUpload;
  stream: MediaStream;
  task?: ReturnType<typeof wasm.startRecording>;
  /** Its stored record, kept here so that each finished part's ETag adds to all the others. */
  record: RecordingRecord;
  /** The record's saves, one after another, so the removal at the end comes after them. */
  saved: Promise<void>;
}

/** Typed `addEventListener` / `removeEventListener` for the recorder's events. */
export interface Recorder {
  addEventListener<K extends keyof RecorderEventMap>(type: K, listener: Listener<K>, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof RecorderEventMap>(type: K, listener: Listener<K>, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/**
 * A recorder: nothing is opened until {@link (Recorder:class).start}. Events are `CustomEvent`s whose
 * `detail` is the {@link RecorderEventDetail}: `started`, `paused`, `resumed`, `progress`
 * (bytes recorded, sealed, uploaded and the backlog), `stopped`, `uploaded`, `error`,
 * `cancelled`, plus `countdown` and `statechange`.
 */
export class Recorder extends EventTarget {
  #state: RecorderState = "idle";
  #tracks: Track[] = [];
  #indicator?: Indicator;
  #done: Promise<RecordingResult[]>;
  #resolve!: (r: RecordingResult[]) => void;
  #reject!: (e: unknown) => void;
  #cancelledEarly = false;

  constructor(private readonly options: RecordOptions) {
    super();
    this.#done = new Promise((ok, fail) => { this.#resolve = ok; this.#reject = fail; });
    this.#done.catch(() => undefined);
  }

  /** Where the recorder is. */
  get state(): RecorderState { return this.#state; }

  /** The streams being recorded (for a muted preview), once started. */
  get streams(): { kind: RecordKind; stream: MediaStream }[] {
    return this.#tracks.map(({ kind, stream }) => ({ kind, stream }));
  }

  /** Resolves with every track once all are stored; rejects with a CinelockError otherwise. */
  get done(): Promise<RecordingResult[]> { return this.#done; }

  /**
   * Opens the camera and/or the screen, gets the upload(s) from your backend, counts down and
   * records. Only from a user gesture (a click): otherwise `not_allowed`, and nothing is opened.
   */
  async start(): Promise<void> {
    if (this.#state !== "idle") throw cinelockError("invalid_argument", `start() when ${this.#state}`);
    const activation = (navigator as { userActivation?: { isActive: boolean } }).userActivation;
    if (activation && !activation.isActive) {
      throw cinelockError("not_allowed", "start() must be called from a user gesture (a click or a key press)");
    }
    this.#set("starting");
    const source = this.options.source ?? "camera";
    const audio = this.options.audio ?? true;
    try {
      // The screen first: the browser asks for it only while the gesture is fresh.
      const streams: { kind: RecordKind; stream: MediaStream }[] = [];
      if (source !== "camera") {
        streams.push({ kind: "screen", stream: await navigator.mediaDevices.getDisplayMedia({ video: true, audio }) });
      }
      if (source !== "screen") {
        try {
          streams.push({ kind: "camera", stream: await navigator.mediaDevices.getUserMedia({ video: this.options.video ?? true, audio }) });
        } catch (e) {
          for (const s of streams) s.stream.getTracks().forEach((t) => t.stop());
          throw e;
        }
      }
      await instantiate();
      for (const s of streams) {
        const linkedTo = this.#tracks[0]?.created.asset_id;
        const created = await this.options.createUpload({ kind: s.kind, ...(linkedTo ? { linkedTo } : {}) });
        if (!created.plan.growing) {
          throw cinelockError("invalid_argument", "createUpload must return a growing upload (POST /v1/uploads without size)");
        }
        const record: RecordingRecord = {
          uploadId: created.upload_id,
          endpoint: this.options.endpoint,
          created,
          etags: {},
          kind: s.kind,
          startedAt: Date.now(),
        };
        await saveRecording(record);
        this.#tracks.push({ kind: s.kind, created, stream: s.stream, record, saved: Promise.resolve() });
      }
      this.#indicator = showIndicator();
      for (let left = Math.floor(this.options.countdown ?? 0); left > 0; left--) {
        this.#set("countdown");
        this.#indicator.update(`in ${left}…`);
        this.dispatchEvent(new CustomEvent("countdown", { detail: { type: "countdown", secondsLeft: left } }));
        await new Promise((ok) => setTimeout(ok, 1000));
        if (this.#cancelledEarly) throw cinelockError("aborted", "cancelled during the countdown");
      }
      for (const t of this.#tracks) this.#startTrack(t);
      this.#indicator.update(elapsed(0));
      this.#set("recording");
      this.#watch();
    } catch (e) {
      for (const t of this.#tracks) {
        t.stream.getTracks().forEach((track) => track.stop());
        await deleteRecording(t.created.upload_id).catch(() => undefined);
        // The growing upload was created but never written: abort it.
        fetch(`${this.options.endpoint.replace(/\/+$/, "")}/v1/uploads/${t.created.upload_id}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${t.created.token}` },
        }).catch(() => undefined);
      }
      this.#indicator?.remove();
      const err = isCinelockError(e) ? e : asRecordError(e);
      this.#set(err.code === "aborted" ? "cancelled" : "failed");
      this.#reject(err);
      throw err;
    }
  }

  /** Pauses recording (what was sealed keeps uploading). */
  pause(): void {
    if (this.#state !== "recording") return;
    for (const t of this.#tracks) t.task?.pause();
  }

  /** Continues after {@link (Recorder:class).pause}. */
  resume(): void {
    if (this.#state !== "paused") return;
    for (const t of this.#tracks) t.task?.resume();
  }

  /** Stops; resolves once every track is stored (the same as {@link (Recorder:class).done}). */
  stop(): Promise<RecordingResult[]> {
    if (this.#state === "recording" || this.#state === "paused") {
      this.#set("stopping");
      for (const t of this.#tracks) t.task?.stop();
    }
    return this.#done;
  }

  /** Stops and throws the recording away: the uploads are aborted and nothing is kept. */
  cancel(): void {
    this.#cancelledEarly = true;
    for (const t of this.#tracks) t.task?.cancel();
  }

  #set(state: RecorderState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.dispatchEvent(new CustomEvent("statechange", { detail: { type: "statechange", state } }));
  }

  #startTrack(t: Track): void {
    const o = this.options;
    t.task = wasm.startRecording(t.stream, {
      endpoint: o.endpoint,
      uploadId: t.created.upload_id,
      assetId: t.created.asset_id,
      token: t.created.token,
      plan: t.created.plan,
      partChecksum: t.created.part_checksum,
      recipientPublicKey: t.created.recipient.public_key,
      seed: Array.from(wasm.newSealSeed()),
      mimeType: o.mimeType,
      timesliceMs: o.timesliceMs,
      videoBitsPerSecond: o.videoBitsPerSecond,
      audioBitsPerSecond: o.audioBitsPerSecond,
      maxDurationMs: o.maxDurationMs,
      maxBytes: o.maxBytes,
      maxParallel: o.maxParallel,
      stallTimeoutMs: o.stallTimeoutMs,
    }, (e: RecorderEvent) => this.#onTrackEvent(t, e));
    // Its parts are uploads of this thread while it runs (internal/neighbours.ts).
    countUploadUntil(t.task.done as Promise<unknown>);
  }

  #onTrackEvent(t: Track, event: RecorderEvent): void {
    const detail: RecorderEventDetail = { ...event, kind: t.kind };
    if (event.type === "partDone") {
      // Loading and saving the stored record per part let two parts that finished together
      // each save the record without the other's ETag.
      t.record.etags[String(event.number)] = event.etag;
      t.saved = t.saved.then(() => saveRecording(t.record)).catch(() => undefined);
    }
    // The first track speaks for the recording's state and clock.
    const lead = t === this.#tracks[0];
    if (lead && event.type === "progress" && (this.#state === "recording" || this.#state === "paused")) {
      this.#indicator?.update(this.#state === "paused" ? `${elapsed(event.elapsedMs)} paused` : elapsed(event.elapsedMs), this.#state === "paused");
    }
    if (lead && event.type === "paused") { this.#set("paused"); this.#indicator?.update("paused", true); }
    if (lead && event.type === "resumed") this.#set("recording");
    if (lead && event.type === "stopped") {
      // A limit or "Stop sharing" stops the recording as a whole.
      this.#set("stopping");
      this.#indicator?.remove();
      for (const other of this.#tracks) if (other !== t) other.task?.stop();
    }
    this.options.onEvent?.(detail);
    this.dispatchEvent(new CustomEvent(event.type, { detail }));
  }

  /** Settles `done` once every track settled. */
  #watch(): void {
    Promise.allSettled(this.#tracks.map((t) => t.task!.done as Promise<RecorderEvent>)).then(async (outcomes) => {
      this.#indicator?.remove();
      for (const t of this.#tracks) t.stream.getTracks().forEach((track) => track.stop());
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
      for (const [i, o] of outcomes.entries()) {
        const t = this.#tracks[i];
        // A failed track stays stored so `finishRecording` can complete it later.
        const aborted = o.status === "rejected" && isCinelockError(o.reason) && o.reason.code === "aborted";
        // After its saves: a save still on its way would bring the record back.
        await t.saved;
        if (o.status === "fulfilled" || aborted) await deleteRecording(t.created.upload_id).catch(() => undefined);
      }
      if (failed) {
        const err = failed.reason;
        this.#set(isCinelockError(err) && err.code === "aborted" ? "cancelled" : "failed");
        this.#reject(err);
        return;
      }
      this.#set("uploaded");
      this.#resolve(outcomes.map((o, i) => toResult(this.#tracks[i].kind, (o as PromiseFulfilledResult<RecorderEvent>).value)));
    });
  }
}

function toResult(kind: RecordKind, event: RecorderEvent): RecordingResult {
  if (event.type !== "uploaded") throw cinelockError("platform", `unexpected end of a recording: ${event.type}`);
  return { kind, assetId: event.assetId, uploadId: event.uploadId, cutShort: event.cutShort, plaintextBytes: event.plaintextBytes };
}

/** A `getUserMedia`/`getDisplayMedia` refusal as a CinelockError. */
function asRecordError(e: unknown) {
  const name = e instanceof Error ? e.name : "";
  const message = e instanceof Error ? e.message : String(e);
  if (name === "NotAllowedError" || name === "SecurityError") return cinelockError("not_allowed", `the browser or the user refused: ${message}`);
  if (name === "NotFoundError" || name === "NotReadableError" || name === "OverconstrainedError") return cinelockError("recorder", `no usable device: ${message}`);
  return cinelockError("platform", message);
}

/** Prepares a recorder; nothing is opened or recorded until its `start()`. */
export function record(options: RecordOptions): Recorder {
  return new Recorder(options);
}

/** A recording a closed tab left unfinished in this browser. */
export interface PendingRecording {
  uploadId: string;
  assetId: string;
  kind: RecordKind;
  /** Unix ms. */
  startedAt: number;
}

/** Recordings a closed (or crashed) tab left in this browser, which {@link finishRecording} can still store. */
export async function pendingRecordings(): Promise<PendingRecording[]> {
  return (await allRecordings()).map((r) => ({
    uploadId: r.uploadId,
    assetId: (r.created as CreatedUpload).asset_id,
    kind: r.kind as RecordKind,
    startedAt: r.startedAt,
  }));
}

/**
 * Stores what a closed tab's recording had sealed: the parts the bucket lacks are sent from the
 * browser's storage and the upload completed, marked `cut_short` unless the recording had
 * stopped normally. Needs no user gesture and records nothing.
 */
export async function finishRecording(uploadId: string, options: { onEvent?: (e: RecorderEvent) => void } = {}): Promise<RecordingResult> {
  await instantiate();
  const record = await loadRecording(uploadId);
  if (!record) throw cinelockError("invalid_argument", `no recording ${uploadId} in this browser`);
  const created = record.created as CreatedUpload;
  let event: RecorderEvent;
  try {
    event = (await wasm.finishRecording({
      endpoint: record.endpoint,
      uploadId,
      assetId: created.asset_id,
      token: created.token,
      plan: created.plan,
      partChecksum: created.part_checksum,
      recorded: record.etags,
    }, (e: RecorderEvent) => options.onEvent?.(e))) as RecorderEvent;
  } catch (e) {
    // Its upload was aborted (a failed recording aborts it): nothing is left to finish.
    if (isCinelockError(e) && e.code === "aborted") await deleteRecording(uploadId);
    throw e;
  }
  await deleteRecording(uploadId);
  return toResult(record.kind as RecordKind, event);
}

/**
 * Forgets a closed tab's recording: its upload is aborted and nothing is kept. A recording the
 * server stored already is kept, and this rejects (`invalid_argument`): {@link finishRecording}
 * resolves with it.
 */
export async function discardRecording(uploadId: string): Promise<void> {
  const record = await loadRecording(uploadId);
  if (!record) return;
  const created = record.created as CreatedUpload;
  const response = await fetch(`${record.endpoint.replace(/\/+$/, "")}/v1/uploads/${uploadId}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${created.token}` },
  }).catch(() => undefined);
  if (response?.status === 409) {
    // Stored already (its tab closed between the completion and forgetting it): kept, so the
    // page can take it with finishRecording.
    throw cinelockError("invalid_argument", `recording ${uploadId} is stored already: finishRecording resolves with it`);
  }
  await instantiate();
  await wasm.discardSpool(uploadId);
  await deleteRecording(uploadId);
}
