/**
 * Cinelock: sealed (AES-256-GCM, HPKE-wrapped key) streams in the browser: sealing, resumable
 * uploads, downloads, posters and playback of encrypted packages ({@link play}, and `<cinelock-player>`
 * in `cinelock/embed`).
 *
 * This file is the package's public surface: everything here is re-exported from `public/`;
 * `internal/` and `workers/` are not part of it. The wire types (`CreatedUpload`, the events,
 * the error codes, ...) are generated from the Rust contract.
 */
export { load } from "./public/load.js";
export { DEFAULT_CHUNK_SIZE } from "./generated/contract.js";
export { isCinelockError, type CinelockError, type ErrorCode } from "./public/errors.js";
export {
  generateRecipientKey,
  keyId,
  open,
  openStream,
  plaintextLength,
  resolveEngine,
  seal,
  sealStream,
  type Engine,
  type OpenOptions,
  type RecipientKeyPair,
  type SealOptions,
} from "./public/seal.js";
export {
  pendingUploads,
  prepareUploads,
  upload,
  type CreatedUpload,
  type PrepareUploadsOptions,
  type UploadEvent,
  type UploadEventMap,
  type UploadHandle,
  type UploadOptions,
  type UploadProgress,
  type UploadStats,
} from "./public/upload.js";
export {
  play,
  Player,
  type PlayerEventMap,
  type PlayerEventType,
  type PlayerStats,
  type PlayOptions,
  type Rendition,
  type RenditionChange,
  type RenditionChangeReason,
  type CaptionKind,
  type TextTrackInfo,
  type TextTracks,
} from "./public/player.js";
export { poster, type PosterOptions } from "./public/poster.js";
export { download, type DownloadOptions, type DownloadResult } from "./public/download.js";
export {
  discardRecording,
  finishRecording,
  pendingRecordings,
  record,
  Recorder,
  type CreateRecordingRequest,
  type PendingRecording,
  type RecorderEvent,
  type RecorderEventDetail,
  type RecorderEventMap,
  type RecorderProgress,
  type RecorderState,
  type RecorderStopReason,
  type RecordingResult,
  type RecordKind,
  type RecordOptions,
  type RecordSource,
} from "./public/record.js";
export type { UploadRetryReason, WorkerState } from "./generated/contract.js";
