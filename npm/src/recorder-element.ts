/**
 * `<cinelock-recorder>`: a recorder with its controls. Nothing is opened until the user
 * presses its Record button (the user gesture the browser and {@link (Recorder:class).start} ask for);
 * while it records it shows a "● REC" badge with the elapsed time (and the page-wide indicator
 * of {@link record} shows too), a muted preview, and what has been uploaded.
 *
 * ```html
 * <cinelock-recorder endpoint="https://SERVER" source="camera" countdown="3"></cinelock-recorder>
 * <script type="module">
 *   document.querySelector("cinelock-recorder").createUpload = (req) => myBackend.createRecording(req);
 * </script>
 * ```
 *
 * Attributes: `endpoint`, `source` (`camera` | `screen` | `screen+camera`), `countdown`
 * (seconds), `max-duration` (seconds), `audio="off"`. Property `createUpload` (required): your
 * backend's `POST /v1/uploads` without a size. The recorder's events are re-dispatched on the
 * element; `recorder` is the current {@link (Recorder:class)}.
 */
import { cinelockError } from "./internal/errors.js";
import { elapsed } from "./internal/rec-indicator.js";
import { adoptStyle } from "./internal/style.js";
import {
  record,
  type CreateRecordingRequest,
  type Recorder,
  type RecorderEventMap,
  type RecordSource,
} from "./public/record.js";
import type { CreatedUpload } from "./generated/contract.js";

const STYLE = `
:host { display: block; font: 14px/1.4 system-ui, sans-serif; }
:host([hidden]) { display: none; }
.stage { position: relative; background: #111; aspect-ratio: 16 / 9; border-radius: 6px; overflow: hidden; }
video { display: block; width: 100%; height: 100%; object-fit: contain; }
.rec { position: absolute; top: 10px; left: 10px; padding: 3px 10px; border-radius: 999px; background: #c62828;
  color: #fff; font-weight: 600; letter-spacing: 0.04em; }
.rec[hidden] { display: none; }
.bar { display: flex; gap: 8px; align-items: center; margin-top: 8px; flex-wrap: wrap; }
button { font: inherit; padding: 6px 14px; border-radius: 4px; border: 1px solid #888; background: #fff; cursor: pointer; }
button.record { background: #c62828; color: #fff; border-color: #c62828; }
button[hidden] { display: none; }
.status { color: #444; }
`;

const EVENTS: (keyof RecorderEventMap)[] = [
  "statechange", "countdown", "started", "paused", "resumed", "progress", "stopped", "uploaded", "error", "cancelled", "retrying",
];

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export class CinelockRecorderElement extends HTMLElement {
  /** Your backend's growing-upload creation (see the module's docs). */
  createUpload?: (request: CreateRecordingRequest) => Promise<CreatedUpload>;
  #recorder: Recorder | undefined;
  readonly #video: HTMLVideoElement;
  readonly #badge: HTMLElement;
  readonly #status: HTMLElement;
  readonly #buttons: Record<"record" | "pause" | "resume" | "stop" | "cancel", HTMLButtonElement>;

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    adoptStyle(root, STYLE);
    const stage = document.createElement("div");
    stage.className = "stage";
    this.#video = document.createElement("video");
    this.#video.muted = true;
    this.#video.playsInline = true;
    this.#video.setAttribute("part", "preview");
    this.#badge = document.createElement("span");
    this.#badge.className = "rec";
    this.#badge.hidden = true;
    this.#badge.setAttribute("part", "rec");
    stage.append(this.#video, this.#badge);
    const bar = document.createElement("div");
    bar.className = "bar";
    const button = (label: string, cls = "") => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.className = cls;
      b.setAttribute("part", `button ${cls}`.trim());
      bar.append(b);
      return b;
    };
    this.#buttons = {
      record: button("● Record", "record"),
      pause: button("Pause", "pause"),
      resume: button("Resume", "resume"),
      stop: button("■ Stop", "stop"),
      cancel: button("Cancel", "cancel"),
    };
    this.#status = document.createElement("span");
    this.#status.className = "status";
    this.#status.setAttribute("role", "status");
    bar.append(this.#status);
    root.append(stage, bar);
    this.#buttons.record.addEventListener("click", () => { this.start().catch(() => undefined); });
    this.#buttons.pause.addEventListener("click", () => this.#recorder?.pause());
    this.#buttons.resume.addEventListener("click", () => this.#recorder?.resume());
    this.#buttons.stop.addEventListener("click", () => { this.#recorder?.stop().catch(() => undefined); });
    this.#buttons.cancel.addEventListener("click", () => this.#recorder?.cancel());
    this.#render("idle");
  }

  /** The current recording's recorder (undefined before the first start). */
  get recorder(): Recorder | undefined {
    return this.#recorder;
  }

  /** Starts a recording; call it from a user gesture (the Record button does). */
  async start(): Promise<void> {
    const endpoint = this.getAttribute("endpoint");
    const createUpload = this.createUpload;
    if (!endpoint || !createUpload) {
      const error = cinelockError("invalid_argument", "<cinelock-recorder> needs an endpoint attribute and a createUpload property");
      this.#status.textContent = "This recorder is not configured.";
      this.dispatchEvent(new CustomEvent("error", { detail: { type: "error", code: error.code, message: error.message }, bubbles: true, composed: true }));
      throw error;
    }
    const source = (this.getAttribute("source") ?? "camera") as RecordSource;
    const maxDuration = Number(this.getAttribute("max-duration"));
    const recorder = record({
      endpoint,
      createUpload,
      source,
      audio: this.getAttribute("audio") !== "off",
      countdown: Number(this.getAttribute("countdown")) || 0,
      maxDurationMs: maxDuration > 0 ? maxDuration * 1000 : undefined,
    });
    this.#recorder = recorder;
    for (const type of EVENTS) {
      recorder.addEventListener(type, (e) => {
        const detail = (e as CustomEvent).detail;
        this.#onEvent(recorder, detail);
        this.dispatchEvent(new CustomEvent(type, { detail, bubbles: type === "error", composed: true }));
      });
    }
    try {
      await recorder.start();
    } catch (e) {
      this.#status.textContent = `Could not start: ${(e as Error).message}`;
      this.#render(recorder.state);
      throw e;
    }
    const preview = recorder.streams.find((s) => s.kind === "camera") ?? recorder.streams[0];
    if (preview) {
      this.#video.srcObject = preview.stream;
      this.#video.play().catch(() => undefined);
    }
  }

  #onEvent(recorder: Recorder, detail: RecorderEventMap[keyof RecorderEventMap]): void {
    if (recorder !== this.#recorder) return;
    switch (detail.type) {
      case "statechange":
        this.#render(detail.state);
        break;
      case "countdown":
        this.#badge.hidden = false;
        this.#badge.textContent = `● REC in ${detail.secondsLeft}…`;
        break;
      case "progress":
        if (detail.kind !== recorder.streams[0]?.kind) break;
        this.#badge.textContent = `● REC ${elapsed(detail.elapsedMs)}`;
        this.#status.textContent = `${mib(detail.uploadedBytes)} uploaded · ${mib(detail.backlogBytes)} waiting`;
        break;
      case "uploaded":
        this.#status.textContent = detail.cutShort ? "Stored (cut short)." : "Stored.";
        break;
      case "error":
        this.#status.textContent = `Failed: ${detail.code}: ${detail.message}`;
        break;
      case "cancelled":
        this.#status.textContent = "Cancelled: nothing was kept.";
        break;
    }
  }

  #render(state: string): void {
    const live = state === "recording" || state === "paused";
    this.#badge.hidden = !(live || state === "countdown");
    if (state === "recording" && this.#badge.textContent === "") this.#badge.textContent = "● REC 00:00";
    this.#buttons.record.hidden = !(state === "idle" || state === "uploaded" || state === "failed" || state === "cancelled");
    this.#buttons.pause.hidden = state !== "recording";
    this.#buttons.resume.hidden = state !== "paused";
    this.#buttons.stop.hidden = !live;
    this.#buttons.cancel.hidden = !(live || state === "countdown" || state === "stopping");
    if (state === "stopping") this.#status.textContent = "Sending the last seconds…";
    if (!live && state !== "countdown" && state !== "starting") {
      this.#video.srcObject = null;
      this.#badge.textContent = "";
    }
  }
}

if (!customElements.get("cinelock-recorder")) customElements.define("cinelock-recorder", CinelockRecorderElement);

declare global {
  interface HTMLElementTagNameMap {
    "cinelock-recorder": CinelockRecorderElement;
  }
}
