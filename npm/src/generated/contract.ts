// Generated from the Rust contract (contract/src) by `CINELOCK_BLESS=1 cargo test -p cinelock-contract`.
// Do not edit: change the Rust types, then regenerate.

/**
 * The `code` of a JSON error the server answers (`{"error": {"code": …}}`), and of a
 * failed transcode job.
 */
export type ApiErrorCode = "not_found" | "unauthorized" | "forbidden" | "body_too_large" | "invalid_json" | "invalid_body" | "content_type" | "bad_request" | "method_not_allowed" | "unknown_upload" | "upload_state" | "invalid_field" | "invalid_plan" | "chunk_size" | "too_long" | "batch_size" | "part_out_of_range" | "part_size" | "invalid_checksum" | "parts_mismatch" | "etag_mismatch" | "size_mismatch" | "invalid_link" | "external_id_taken" | "invalid_webhook_url" | "invalid_captions" | "unknown_caption" | "unknown_webhook" | "missing_part" | "unexpected_part" | "duplicate_part" | "invalid_scope" | "unknown_asset" | "not_ready" | "asset_failed" | "denied" | "session_invalid" | "session_expired" | "invalid_public_key" | "invalid_package" | "unknown_path" | "invalid_policy" | "invalid_ttl" | "invalid_cidr" | "invalid_origin" | "invalid_country" | "secret_too_short" | "invalid_claims" | "busy" | "beacon_credential" | "beacon_asset" | "invalid_beacon" | "too_many_beacons" | "ingest_full" | "invalid_query" | "config" | "storage_not_configured" | "storage" | "database" | "key_unavailable" | "lease_lost" | "worker" | "source_tampered" | "source_replayed" | "source_unreadable" | "source_not_video" | "source_too_large" | "job_timeout" | "attempts_exhausted";

/**
 * The `code` of every `CinelockError` the SDK throws or reports.
 */
export type ErrorCode = "decrypt" | "malformed" | "unsupported" | "chunk_size" | "wrong_recipient" | "invalid_key" | "too_long" | "invalid_manifest" | "invalid_captions" | "invalid_plan" | "missing_part" | "unexpected_part" | "duplicate_part" | "part_size" | "upload_rejected" | "no_such_upload" | "retries_exhausted" | "signing_failed" | "complete_failed" | "aborted" | "invalid_argument" | "no_webcrypto" | "read" | "platform" | "network" | "not_allowed" | "recorder" | "storage" | "bad_manifest" | "fetch_failed" | "tampered" | "append_failed" | "quota_exceeded" | "unsupported_media" | "media_error" | "destroyed" | "denied" | "unknown_asset" | "not_ready" | "asset_failed" | "session_invalid" | "session_expired" | "invalid_public_key" | "invalid_package" | "unknown_path" | "batch_size" | "bad_request" | "storage_not_configured" | "key_unavailable" | "busy" | "server_error";

/**
 * Every JSON error the server answers: `{"error": {...}}`.
 */
export type ErrorBody = { error: ErrorDetail, };

/**
 * What went wrong.
 */
export type ErrorDetail = { code: ApiErrorCode, 
/**
 * For people.
 */
message: string, 
/**
 * With `denied`: the policy's reason (`token_required`, `origin_not_allowed`, …).
 */
reason?: string, };

/**
 * `GET /healthz`.
 */
export type Health = { 
/**
 * `ok`.
 */
status: string, 
/**
 * The server's version.
 */
version: string, 
/**
 * Whether an object store is configured (uploads and playback on).
 */
storage: boolean, };

/**
 * `POST /v1/uploads` (a customer's backend, with its API key).
 */
export type CreateUpload = { 
/**
 * The file's size in bytes. Leave it out for a *growing* upload (a recording, whose
 * length is known only at the end): every part but the last then has one fixed size, and
 * the size comes with `complete`.
 */
size?: number, 
/**
 * A growing upload's largest plaintext size in bytes (default and ceiling: the server's
 * `CINELOCK_MAX_GROWING_BYTES`); part URLs past it are refused. Only without `size`.
 */
max_size?: number, 
/**
 * Another asset of the same API key this one belongs with (a screen recording's camera
 * track, say): each lists the other in `linked`.
 */
linked_to?: string, 
/**
 * Plaintext bytes per sealed chunk (default 256 KiB).
 */
chunk_size?: number, 
/**
 * Target sealed bytes per part (default 8 MiB).
 */
part_size?: number, filename?: string, content_type?: string, };

/**
 * Where the sealed object is cut into parts (`cinelock_core::upload::PartPlan`, or
 * `GrowingPlan` for a growing upload).
 */
export type PlanView = { 
/**
 * A growing upload (created without a size): until it completes, `plaintext_len`,
 * `part_count` and `sealed_len` are 0 and every part but the last has
 * `chunks_per_part` chunks.
 */
growing: boolean, plaintext_len: number, chunk_size: number, chunks_per_part: number, part_count: number, sealed_len: number, };

/**
 * The checksum an upload's parts carry, chosen when it is created
 * (`cinelock_core::upload::ChecksumAlgorithm`): each part's URL is signed for it and the store
 * verifies it. Uploads are created with `crc32c`; answers from servers before it name none,
 * and mean `sha256`.
 */
export type PartChecksumView = "crc32c" | "sha256";

/**
 * The transcode workers' public key, which the browser seals to.
 */
export type RecipientView = { 
/**
 * 32 bytes in hex.
 */
public_key: string, 
/**
 * 16 hex digits.
 */
key_id: string, };

/**
 * The answer to `POST /v1/uploads`: what the customer's backend hands the page for
 * `upload(file, { endpoint, upload })`.
 */
export type CreatedUpload = { upload_id: string, 
/**
 * The asset the upload makes: also the context the file is sealed for.
 */
asset_id: string, 
/**
 * The single-upload bearer token for the browser.
 */
token: string, 
/**
 * Unix ms.
 */
token_expires_at: number, plan: PlanView, 
/**
 * The checksum every part is sealed with and signed for.
 */
part_checksum: PartChecksumView, recipient: RecipientView, };

/**
 * `POST /v1/uploads/{id}/sign`: URLs for these sealed parts.
 */
export type SignRequest = { parts: Array<SignPart>, };

/**
 * One sealed part to sign a URL for, with its checksum in the upload's algorithm
 * (`part_checksum`): exactly one of `crc32c` and `sha256`. The URL's signature covers it.
 */
export type SignPart = { number: number, 
/**
 * Base64 of the sealed part's CRC-32C, big-endian (4 bytes).
 */
crc32c?: string, 
/**
 * Base64 SHA-256 of the sealed part (32 bytes).
 */
sha256?: string, size: number, };

/**
 * The answer to a sign request.
 */
export type SignedParts = { parts: Array<SignedPartUrl>, };

/**
 * A presigned part URL and the headers the PUT must carry.
 */
export type SignedPartUrl = { number: number, url: string, headers: { [key in string]: string }, 
/**
 * Unix ms, on the server's clock.
 */
expires_at: number, 
/**
 * How long the URL lives from when it was signed: clients time URLs with this, so their
 * own clock's error does not matter.
 */
expires_in_ms: number, };

/**
 * An upload's state.
 */
export type UploadStatus = "open" | "completed" | "aborted" | "abandoned";

/**
 * A part the store holds.
 */
export type ListedPartView = { number: number, size: number, 
/**
 * Some stores list no ETags.
 */
etag: string | null, };

/**
 * `GET /v1/uploads/{id}`: the upload, the parts the store holds, and its asset.
 */
export type UploadView = { upload_id: string, asset_id: string, status: UploadStatus, plan: PlanView, 
/**
 * The checksum every part is sealed with and signed for.
 */
part_checksum: PartChecksumView, parts: Array<ListedPartView>, asset: AssetView, };

/**
 * `POST /v1/uploads/{id}/complete`.
 */
export type CompleteRequest = { parts: Array<CompletePart>, 
/**
 * The plaintext size: required for a growing upload (checked against the parts the store
 * holds), and if given for another, it must be the size it was created with.
 */
size?: number, 
/**
 * A growing upload that ended before its source did (a recording whose tab closed):
 * the asset is marked `cut_short`, never passed off as complete.
 */
cut_short: boolean, };

/**
 * A part and the ETag the store answered its PUT with.
 */
export type CompletePart = { number: number, etag: string, };

/**
 * The answer to a completion (the same for a repeated one).
 */
export type CompletedUpload = { upload_id: string, asset_id: string, status: UploadStatus, sealed_len: number, };

/**
 * The answer to `DELETE /v1/uploads/{id}`.
 */
export type AbortedUpload = { upload_id: string, status: UploadStatus, };

/**
 * `GET /v1/assets/{id}` (and the `asset` of `GET /v1/uploads/{id}`).
 */
export type AssetView = { asset_id: string, 
/**
 * `uploading`, `uploaded`, `processing`, `ready`, `failed`, `cancelled`, `aborted` or
 * `abandoned`.
 */
status: string, filename: string | null, 
/**
 * Plaintext bytes.
 */
size: number, 
/**
 * Unix ms.
 */
created_at: number, 
/**
 * The owner's name for it (`PATCH /v1/assets/{id}`).
 */
title: string | null, 
/**
 * The owner's identifier for it (unique per API key).
 */
external_id: string | null, 
/**
 * The owner's string pairs.
 */
metadata: { [key in string]: string }, 
/**
 * Whether the preview package is published.
 */
preview_ready: boolean, 
/**
 * A recording that ended before its source did (its tab closed mid-recording): it holds
 * what was sealed until then.
 */
cut_short: boolean, 
/**
 * Assets created to go with this one (`linked_to`), in both directions: a screen
 * recording and its camera.
 */
linked: Array<string>, jobs: Array<JobView>, packages: Array<PackageView>, };

/**
 * `PATCH /v1/assets/{id}`: the fields given change, the others stay. `null` clears a title or
 * an external id; `metadata` replaces the pairs (an empty object clears them).
 */
export type AssetPatch = { title?: string | null, external_id?: string | null, metadata?: { [key in string]: string }, };

/**
 * One asset of `GET /v1/assets`.
 */
export type AssetSummary = { asset_id: string, status: string, title: string | null, external_id: string | null, filename: string | null, size: number, 
/**
 * Unix ms.
 */
created_at: number, cut_short: boolean, };

/**
 * What a track is for: the `kind` of the browser's `<track>`.
 */
export type CaptionKind = "subtitles" | "captions";

/**
 * `POST /v1/assets/{id}/captions` (API key, `uploads:write`): one WebVTT file.
 */
export type AddCaption = { 
/**
 * BCP 47 language tag (`en`, `pt-BR`).
 */
language: string, 
/**
 * What the player's menu shows (1 to 64 characters).
 */
label: string, 
/**
 * `subtitles` (default) or `captions`.
 */
kind?: CaptionKind, 
/**
 * The WebVTT file's text (at most 1 MiB).
 */
vtt: string, };

/**
 * A caption track as the API lists it.
 */
export type CaptionView = { id: string, language: string, label: string, kind: CaptionKind, 
/**
 * How many cues the file holds.
 */
cues: number, 
/**
 * Unix ms.
 */
created_at: number, };

/**
 * `GET /v1/assets/{id}/captions`: oldest first.
 */
export type CaptionList = { captions: Array<CaptionView>, };

/**
 * A caption track of a playback session: where its sealed WebVTT is, and the nonce the
 * player must find in it (an older object at the same place is refused).
 */
export type TextTrackGrant = { id: string, language: string, label: string, kind: CaptionKind, 
/**
 * Presigned GET URL of the sealed file; lives as long as the session's other URLs.
 */
url: string, 
/**
 * Sealed bytes.
 */
size: number, 
/**
 * 24 hex digits.
 */
nonce: string, };

/**
 * A caption or subtitle track the player holds (`player.textTracks()`).
 */
export type TextTrackInfo = { id: string, 
/**
 * BCP 47 language tag.
 */
language: string, label: string, kind: CaptionKind, 
/**
 * Whether its cues are on screen now.
 */
showing: boolean, };

/**
 * The `texttracks` event: the asset's caption tracks are loaded, or which one shows changed.
 */
export type TextTracks = { tracks: Array<TextTrackInfo>, };

/**
 * `GET /v1/assets`: a page of the API key's assets, newest first.
 */
export type AssetList = { assets: Array<AssetSummary>, 
/**
 * Pass as `cursor` for the next page; null on the last.
 */
next_cursor: string | null, };

/**
 * The query of `GET /v1/assets`.
 */
export type AssetQuery = { 
/**
 * Only assets in this status.
 */
status?: string, 
/**
 * Only assets created at or after (Unix ms).
 */
created_after?: number, 
/**
 * Only assets created before (Unix ms).
 */
created_before?: number, 
/**
 * Only the asset with this external id.
 */
external_id?: string, 
/**
 * 1 to 100 (default 50).
 */
limit?: number, cursor?: string, };

/**
 * Where an asset's deletion is.
 */
export type DeletionStatus = "deleted" | "deleting";

/**
 * The answer to `DELETE /v1/assets/{id}` (the same for a repeated one).
 */
export type DeletedAsset = { asset_id: string, status: DeletionStatus, };

/**
 * A transcode job as the API shows it.
 */
export type JobView = { id: string, 
/**
 * `preview` or `full`.
 */
kind: string, 
/**
 * `queued`, `running`, `succeeded`, `failed` or `cancelled`.
 */
status: string, 
/**
 * 0 to 100.
 */
progress: number, attempts: number, max_attempts: number, error?: JobError, 
/**
 * Unix ms.
 */
started_at?: number, 
/**
 * Unix ms.
 */
finished_at?: number, };

/**
 * Why a job's last attempt failed: a code, and a short message without paths.
 */
export type JobError = { code: ApiErrorCode, message: string, };

/**
 * A published package.
 */
export type PackageView = { package_id: string, 
/**
 * `full` or `preview`.
 */
kind: string, duration_ms: number, 
/**
 * Unix ms.
 */
created_at: number, };

/**
 * What a playback session grants for analytics (absent when analytics are off).
 */
export type BeaconGrant = { 
/**
 * Shown with every beacon of the session's views: bound to the asset, valid for hours.
 */
credential: string, };

/**
 * The answer to a beacon: how many of its events were taken (all, or an error).
 */
export type BeaconAccepted = { accepted: number, };

/**
 * How `GET /v1/analytics` buckets its series.
 */
export type Interval = "hour" | "day";

/**
 * What `GET /v1/analytics` can break views down by.
 */
export type Dimension = "country" | "browser" | "os" | "device" | "asset";

/**
 * `GET /v1/analytics` query parameters.
 */
export type AnalyticsQuery = { 
/**
 * One asset; absent: every asset of the API key's owner.
 */
asset?: string, 
/**
 * Unix ms, inclusive; default 7 days before `to`.
 */
from?: number, 
/**
 * Unix ms, exclusive; default now.
 */
to?: number, 
/**
 * Default `hour` for up to two days, `day` beyond.
 */
interval?: Interval, 
/**
 * Adds a breakdown of the range by this dimension.
 */
breakdown?: Dimension, };

/**
 * The metrics of a set of views (definitions in `docs/analytics.md`). Ratios are `null` when
 * nothing was there to divide by.
 */
export type Metrics = { 
/**
 * Views started.
 */
views: number, 
/**
 * Distinct viewers per UTC day, summed over the days (a viewer's pseudonym lives one day).
 */
unique_viewers: number, watch_time_ms: number, playing_time_ms: number, 
/**
 * Over views that reached their first frame.
 */
startup_time_median_ms: number | null, startup_time_p95_ms: number | null, 
/**
 * Views that failed with a fatal error, % of views.
 */
playback_failure_pct: number | null, 
/**
 * Views where play was asked for and no frame ever showed (failures aside), % of views.
 */
exits_before_start_pct: number | null, 
/**
 * Rebuffering time, % of watch time.
 */
rebuffer_pct: number | null, 
/**
 * Rebuffers per minute of watch time.
 */
rebuffers_per_minute: number | null, 
/**
 * Bitrate weighted by playing time, bits per second.
 */
weighted_bitrate_bps: number | null, 
/**
 * Upscaling weighted by playing time, %.
 */
upscale_pct: number | null, 
/**
 * Downscaling weighted by playing time, % (a picture larger than the player).
 */
downscale_pct: number | null, 
/**
 * The average time from a seek to its landing, ms, over the seeks that landed.
 */
seek_latency_avg_ms: number | null, 
/**
 * Views that reached the end (or 90 % of the duration), % of views that started playing.
 */
completion_pct: number | null, };

/**
 * One bucket of the series.
 */
export type SeriesPoint = { 
/**
 * Unix ms of the bucket's start.
 */
start: number, metrics: Metrics, };

/**
 * One value of a breakdown.
 */
export type BreakdownRow = { 
/**
 * A country code, `Chrome 131`, `Windows`, `mobile`, an asset id, or `unknown`.
 */
value: string, metrics: Metrics, };

/**
 * Playing time by video rendition over the range.
 */
export type RenditionTime = { rendition: string, playing_time_ms: number, };

/**
 * `GET /v1/analytics`.
 */
export type AnalyticsReport = { from: number, to: number, interval: Interval, asset: string | null, totals: Metrics, series: Array<SeriesPoint>, renditions: Array<RenditionTime>, breakdown_by: Dimension | null, breakdown: Array<BreakdownRow>, };

/**
 * `GET /v1/analytics/ingest`: the server's analytics intake since it started.
 */
export type IngestStats = { 
/**
 * Events taken (answered 202).
 */
accepted_events: number, 
/**
 * Events written (a resent event is written once).
 */
stored_events: number, 
/**
 * Events refused because the queue was full (the player sends them again later).
 */
shed_events: number, 
/**
 * Events waiting to be written.
 */
queued_events: number, };

/**
 * One stored event of a view (`GET /v1/analytics/views/{view_id}`).
 */
export type ViewEvent = { seq: number, 
/**
 * The event's name (`viewstart`, `play`, `playing`, ...).
 */
kind: string, 
/**
 * Milliseconds since the view started, on the player's clock.
 */
at_ms: number, playhead_ms: number, };

/**
 * `GET /v1/analytics/views/{view_id}`: one view's timeline, for the asset's owner.
 */
export type ViewTimeline = { view_id: string, asset_id: string, 
/**
 * Unix ms when its first beacon arrived.
 */
started_at: number, 
/**
 * Events still held (raw events are kept for the server's retention period).
 */
events: Array<ViewEvent>, };

/**
 * `POST /v1/play/{id}`: a session for the player's one-time key.
 */
export type PlayRequest = { 
/**
 * The player's ephemeral X25519 public key, 32 bytes in hex.
 */
public_key: string, token?: string, password?: string, 
/**
 * Whether the session is for a download of the original.
 */
download?: boolean, 
/**
 * `full` or `preview` (default: full when ready, else the preview).
 */
package?: string, 
/**
 * The rendition the player starts at, as the page asked (`startRendition`); with
 * `initial_bandwidth`, `measured_bandwidth` and `seek_budget`, what the answer's `first`
 * is chosen by.
 */
start_rendition?: RenditionPick, 
/**
 * Bits per second the player assumes before it has measured anything (`initialBandwidth`).
 */
initial_bandwidth?: number, 
/**
 * Bits per second an earlier player measured, that the page kept and hands this one
 * (`measuredBandwidth`): the start is then chosen as a later player's is
 * (`AbrConfig::measured_bandwidth_bps`). Ignored with `start_rendition`.
 */
measured_bandwidth?: number, 
/**
 * The page's `seekBudget` in seconds (0: none; absent: the default, 1 s), which a start
 * from `measured_bandwidth` is chosen within.
 */
seek_budget?: number, };

/**
 * A granted session.
 */
export type PlayAnswer = { asset_id: string, package_id: string, 
/**
 * `full` or `preview`.
 */
kind: string, 
/**
 * The content key released to the request's public key (80 bytes in hex).
 */
key: string, manifest_url: string, 
/**
 * The sealed manifest's nonce (24 hex): the player opens only this manifest.
 */
manifest_nonce: string, 
/**
 * The sealed manifest object itself (standard base64), so the player can start without
 * fetching `manifest_url` first. Absent for packages published before it was kept.
 */
manifest?: string, 
/**
 * Presigned GET URLs of the first objects, by path in the manifest.
 */
urls: { [key in string]: string }, 
/**
 * Every track of the package with its first objects, in the manifest's order, so that a
 * player can ask for those it starts with while it opens the key and the manifest
 * (`cinelock_core::playback::start_tracks` picks them). Absent from older servers.
 */
start: Array<StartTrack>, 
/**
 * The paths a player started as the request says (`start_rendition`,
 * `initial_bandwidth`, `measured_bandwidth`, `seek_budget`) fetches first, by the same
 * rule: for a client that asks before it can run the rule itself (the npm package's
 * JavaScript, while the wasm loads). Absent from older servers.
 */
first: Array<string>, 
/**
 * Asks for more URLs.
 */
session: string, 
/**
 * Unix ms when these URLs expire, on the server's clock.
 */
expires_at: number, 
/**
 * How long these URLs live from when they were signed: clients time URLs with this, so
 * their own clock's error does not matter.
 */
expires_in_ms: number, 
/**
 * The token's `viewer` claim, if a token was shown.
 */
viewer: string | null, download?: DownloadGrant, 
/**
 * The asset's caption and subtitle tracks, oldest first.
 */
text_tracks: Array<TextTrackGrant>, 
/**
 * Where the session's views report (absent when the server's analytics are off).
 */
beacon?: BeaconGrant, };

/**
 * A video rendition a player starts at (`startRendition`): its id, or its position in the
 * ladder (0 = lowest bandwidth). A number is a position, a string an id.
 */
export type RenditionPick = string | number;

/**
 * A track as a player needs it to start before its manifest is opened.
 */
export type StartTrack = { id: string, kind: "video" | "audio", 
/**
 * Bits per second, as the manifest lists.
 */
bandwidth: number, 
/**
 * Its init segment's path, then its first segment's: keys of the answer's `urls`.
 */
paths: Array<string>, 
/**
 * Bytes of its first segment (sealed): a player that starts from an earlier player's
 * measurement picks the rendition whose first segment comes within its seek budget.
 * Absent from older servers.
 */
first_segment_bytes?: number, };

/**
 * A download the policy allows: the sealed original and its data key.
 */
export type DownloadGrant = { url: string, 
/**
 * The source's data key released to the request's public key (80 bytes in hex).
 */
key: string, filename: string | null, 
/**
 * Plaintext bytes.
 */
size: number, };

/**
 * `POST /v1/play/{id}/urls`: more presigned URLs for a session's package.
 */
export type UrlsRequest = { session: string, paths: Array<string>, };

/**
 * The answer to a URL request.
 */
export type UrlsAnswer = { urls: { [key in string]: string }, 
/**
 * Unix ms, on the server's clock.
 */
expires_at: number, 
/**
 * How long these URLs live from when they were signed.
 */
expires_in_ms: number, };

/**
 * `POST /v1/assets/{id}/viewer-tokens`: a token minted by the server.
 */
export type MintRequest = { 
/**
 * Seconds (1 s to 30 days; default 3600).
 */
ttl?: number, viewer?: string, 
/**
 * May download (needs `uploads:write`).
 */
download?: boolean, 
/**
 * May skip the password (needs `uploads:write`).
 */
skip_password?: boolean, };

/**
 * A minted token.
 */
export type MintedToken = { token: string, 
/**
 * Unix seconds.
 */
expires_at: number, };

/**
 * A customer's new viewer-token secret: shown only in this answer.
 */
export type CreatedViewerKey = { 
/**
 * The key id `clv2` tokens name.
 */
id: string, 
/**
 * 32 bytes in hex: the HMAC-SHA256 key.
 */
secret: string, };

/**
 * A viewer-token key as listed: never its secret.
 */
export type ViewerKeyView = { id: string, 
/**
 * Unix ms.
 */
created_at: number, 
/**
 * Unix ms.
 */
revoked_at: number | null, };

/**
 * `GET /v1/viewer-token-keys`.
 */
export type ViewerKeyList = { keys: Array<ViewerKeyView>, };

/**
 * The answer to `DELETE /v1/viewer-token-keys/{id}`.
 */
export type RevokedViewerKey = { id: string, revoked: boolean, };

/**
 * An upload's progress (the `progress` event).
 */
export type UploadProgress = { 
/**
 * Sealed bytes of the parts sealed so far.
 */
sealedBytes: number, 
/**
 * Sealed bytes the store has acknowledged.
 */
ackedBytes: number, 
/**
 * Acknowledged bytes plus what the requests that are out have sent: what a progress bar
 * shows (it steps back when a request fails or a pause cancels it).
 */
sentBytes: number, 
/**
 * Sealed size of the whole object.
 */
totalBytes: number, 
/**
 * Bytes per second acknowledged by the store, over the last few seconds.
 */
rate: number, 
/**
 * Milliseconds until done at that rate (null until measured).
 */
etaMs: number | null, };

/**
 * Why a part (or the signing) is tried again.
 */
export type UploadRetryReason = "network" | "status" | "expired" | "badDigest" | "signingFailed" | "timeout";

/**
 * Every event of an upload, by `type`.
 */
export type UploadEvent = { "type": "progress" } & UploadProgress | { "type": "partDone", number: number, etag: string, } | { "type": "retrying", number: number | null, attempt: number, delayMs: number, reason: UploadRetryReason, 
/**
 * The HTTP status, for `reason: "status"`.
 */
status?: number, } | { "type": "paused" } | { "type": "resumed" } | { "type": "completed" } | { "type": "failed", code: ErrorCode, message: string, } | { "type": "aborted" };

/**
 * A recording's progress (the recorder's `progress` event). Sizes are bytes.
 */
export type RecorderProgress = { 
/**
 * Recorded time, pauses excluded.
 */
elapsedMs: number, 
/**
 * What the browser's recorder produced.
 */
recordedBytes: number, 
/**
 * Sealed and kept (in the browser's storage until sent).
 */
sealedBytes: number, 
/**
 * Stored in the bucket.
 */
uploadedBytes: number, 
/**
 * Sealed but not yet stored: what a slow network leaves waiting.
 */
backlogBytes: number, };

/**
 * Why a recording stopped (`cinelock_core::recording::StopReason`).
 */
export type RecorderStopReason = "requested" | "max_duration" | "max_bytes" | "source_ended";

/**
 * Every event of a recording, by `type`.
 */
export type RecorderEvent = { "type": "started", mimeType: string, persistent: boolean, } | { "type": "paused" } | { "type": "resumed" } | { "type": "progress" } & RecorderProgress | { "type": "partDone", number: number, etag: string, } | { "type": "stopped", reason: RecorderStopReason, elapsedMs: number, recordedBytes: number, } | { "type": "uploaded", assetId: string, uploadId: string, 
/**
 * Finished from what was sealed before its page went away.
 */
cutShort: boolean, plaintextBytes: number, } | { "type": "retrying", delayMs: number, reason: UploadRetryReason, } | { "type": "error", code: ErrorCode, message: string, } | { "type": "cancelled" };

/**
 * A video rendition of the package, lowest bandwidth first.
 */
export type Rendition = { id: string, width: number, height: number, 
/**
 * Peak bits per second.
 */
bandwidth: number, codecs: string, };

/**
 * Why the rendition changed.
 */
export type RenditionChangeReason = "start" | "bandwidth" | "stall" | "manual" | "auto" | "size";

/**
 * The `renditionchange` event: the rendition of the next segments changed.
 */
export type RenditionChange = { from: string | null, to: string, reason: RenditionChangeReason, width?: number, height?: number, bandwidth?: number, };

/**
 * The `playing` event.
 */
export type Playing = { currentTime: number, };

/**
 * The `stall` event: playback stopped for want of data at `at` seconds.
 */
export type Stall = { at: number, };

/**
 * The `stallend` event: playback moves again.
 */
export type StallEnd = { at: number, stalledMs: number, };

/**
 * Which object of a track.
 */
export type ObjectKindName = "init" | "media";

/**
 * Why an object is fetched again (`corrupt`: it failed authentication).
 */
export type PlayerRetryReason = "network" | "timeout" | "corrupt" | "expired";

/**
 * The player's `retrying` event.
 */
export type PlayerRetrying = { track: string, kind: ObjectKindName, index: number, attempt: number, delayMs: number, reason: PlayerRetryReason, };

/**
 * Where the SDK's work runs: its worker, or (when the worker could not start, or was not
 * asked for) the page's thread.
 */
export type WorkerState = "off" | "starting" | "running" | "failed";

/**
 * A player's counters since its start.
 */
export type PlayerStats = { 
/**
 * `webcrypto` or `wasm` (empty before the session).
 */
engine: string, packageKind: string, packageId: string, duration: number, 
/**
 * Bits per second.
 */
bandwidthEstimate: number, 
/**
 * Bits per second the player measured of its own fetches, once it has measured enough
 * (`null` before: the estimate above starts on the guess or on an earlier player's
 * measurement, which this leaves out). A page that keeps it (in its own storage, under its
 * own consent: the player stores nothing) can hand it to a player of a later visit as
 * `measuredBandwidth`.
 */
measuredBandwidth: number | null, 
/**
 * Fetches completed that did not feed the estimate: the start's first objects (asked for
 * before the player's engine, so their timing says little of the link) and those out while
 * the page's thread was held (their reports came late).
 */
unmeasuredFetches: number, objects: number, sealedBytes: number, plainBytes: number, fetchMs: number, decryptMs: number, decryptFailures: number, appends: number, urlRequests: number, 
/**
 * Objects fetched and opened in the player's worker.
 */
workerObjects: number, 
/**
 * Objects fetched and opened on the page's thread before the worker was started: what
 * was asked for before playback could begin (the worker starts then, so that its loading
 * does not compete with the first frame's fetches).
 */
objectsBeforeWorker: number, 
/**
 * Sessions opened: the first, and one per renewal.
 */
sessions: number, 
/**
 * The start's first objects (its tracks' init segments and first segments), asked for
 * straight from the session's answer while the key and the manifest were opened, that the
 * engine's first fetches took over.
 */
earlyObjects: number, 
/**
 * ... and those aborted unused (a page that moved the start after asking).
 */
earlyObjectsUnused: number, 
/**
 * The analytics view (32 hex digits, drawn per view, never stored by the browser);
 * `null` when analytics are off.
 */
viewId: string | null, 
/**
 * Analytics beacons taken by the server, the events in them, and beacons that failed.
 */
beaconsSent: number, beaconEvents: number, beaconsFailed: number, };

/** Default plaintext chunk size, in bytes. */
export const DEFAULT_CHUNK_SIZE = 262144;
