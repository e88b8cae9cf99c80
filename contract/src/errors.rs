//! Error codes: the server's (`error.code` of every JSON error it answers) and the SDK's (the
//! `code` of every `CinelockError` it throws or reports), and the JSON error body.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::codes::codes;

codes! {
    /// The `code` of a JSON error the server answers (`{"error": {"code": …}}`), and of a
    /// failed transcode job.
    pub enum ApiErrorCode {
        // Requests.
        /// No such route, or no such file under `/sdk/`.
        NotFound = "not_found",
        /// Missing, malformed, expired or revoked credentials.
        Unauthorized = "unauthorized",
        /// The API key lacks the scope.
        Forbidden = "forbidden",
        /// The body is over the limit.
        BodyTooLarge = "body_too_large",
        /// The body is not JSON.
        InvalidJson = "invalid_json",
        /// The body is JSON of the wrong shape (an unknown or missing field, a wrong type).
        InvalidBody = "invalid_body",
        /// A JSON body without `Content-Type: application/json`.
        ContentType = "content_type",
        /// A request the client can fix, of no more specific kind.
        BadRequest = "bad_request",
        /// The route exists but not for this method.
        MethodNotAllowed = "method_not_allowed",
        // Uploads.
        /// No such upload (or not this caller's).
        UnknownUpload = "unknown_upload",
        /// The upload is not in a state that allows this.
        UploadState = "upload_state",
        /// A text field is too long or holds control characters.
        InvalidField = "invalid_field",
        /// No part plan within the store's limits fits the request.
        InvalidPlan = "invalid_plan",
        /// The chunk size is outside the format's bounds.
        ChunkSize = "chunk_size",
        /// The plaintext is longer than one stream may be.
        TooLong = "too_long",
        /// Too few or too many parts or paths in one request.
        BatchSize = "batch_size",
        /// A part number outside the plan.
        PartOutOfRange = "part_out_of_range",
        /// A part of another size than the plan's.
        PartSize = "part_size",
        /// A part checksum that is missing, not of the upload's algorithm, or not its length in
        /// base64.
        InvalidChecksum = "invalid_checksum",
        /// The completion does not list every part exactly once.
        PartsMismatch = "parts_mismatch",
        /// An ETag differs from the store's.
        EtagMismatch = "etag_mismatch",
        /// A completion's `size` is missing (a growing upload) or is not the upload's.
        SizeMismatch = "size_mismatch",
        /// `linked_to` names no asset of this API key.
        InvalidLink = "invalid_link",
        /// Another of the API key's assets has this `external_id`.
        ExternalIdTaken = "external_id_taken",
        /// A webhook URL that is not http(s), or (unless the server allows it) points at a
        /// private or loopback address.
        InvalidWebhookUrl = "invalid_webhook_url",
        /// A caption track the server does not accept (its WebVTT, language or label), or
        /// one too many for the asset.
        InvalidCaptions = "invalid_captions",
        /// No such caption track of the asset.
        UnknownCaption = "unknown_caption",
        /// No such webhook endpoint (or not this API key's).
        UnknownWebhook = "unknown_webhook",
        /// A part is missing (never signed, or not in the store).
        MissingPart = "missing_part",
        /// A part the plan does not have.
        UnexpectedPart = "unexpected_part",
        /// A part listed twice.
        DuplicatePart = "duplicate_part",
        /// The API key scopes are not among the known ones.
        InvalidScope = "invalid_scope",
        // Assets and playback.
        /// No such asset (or not this caller's).
        UnknownAsset = "unknown_asset",
        /// No package of the asset is published yet.
        NotReady = "not_ready",
        /// The asset's transcode failed for good (or was cancelled): it will never play. The
        /// message says why.
        AssetFailed = "asset_failed",
        /// The asset's policy refused the session; `error.reason` says why.
        Denied = "denied",
        /// A playback session token that is not one.
        SessionInvalid = "session_invalid",
        /// A playback session that is over (its time, its token's, or its policy changed).
        SessionExpired = "session_expired",
        /// The player's public key is not a 32-byte X25519 key in hex.
        InvalidPublicKey = "invalid_public_key",
        /// `package` is neither `full` nor `preview`.
        InvalidPackage = "invalid_package",
        /// A path not listed in the session's manifest.
        UnknownPath = "unknown_path",
        /// A policy the server cannot store (an unknown field, a bad allow-list entry).
        InvalidPolicy = "invalid_policy",
        /// A viewer-token lifetime outside 1 s to 30 days.
        InvalidTtl = "invalid_ttl",
        /// An allow-list entry that is not a network (`10.0.0.0/8`).
        InvalidCidr = "invalid_cidr",
        /// An allow-list entry that is not an origin.
        InvalidOrigin = "invalid_origin",
        /// An allow-list entry that is not an ISO country code.
        InvalidCountry = "invalid_country",
        /// A token secret shorter than 32 bytes.
        SecretTooShort = "secret_too_short",
        /// Token claims that would never verify.
        InvalidClaims = "invalid_claims",
        /// Too much of a bounded kind of work at once (password hashes); try again shortly.
        Busy = "busy",
        // Analytics.
        /// A beacon without a valid (or with an expired) beacon credential.
        BeaconCredential = "beacon_credential",
        /// A beacon whose credential was granted for another asset.
        BeaconAsset = "beacon_asset",
        /// A beacon with an impossible value (the message names the field).
        InvalidBeacon = "invalid_beacon",
        /// More beacons from one session than the server takes; send later.
        TooManyBeacons = "too_many_beacons",
        /// The server's analytics queue is full; send later (nothing accepted is lost).
        IngestFull = "ingest_full",
        /// Analytics query parameters the server cannot use.
        InvalidQuery = "invalid_query",
        // The service.
        /// The server is misconfigured.
        Config = "config",
        /// No object store is configured: uploads and playback are off.
        StorageNotConfigured = "storage_not_configured",
        /// The object store failed or refused.
        Storage = "storage",
        /// The database failed.
        Database = "database",
        /// A content key could not be unwrapped.
        KeyUnavailable = "key_unavailable",
        /// A transcode worker lost its job's lease.
        LeaseLost = "lease_lost",
        // Transcode jobs.
        /// A transcode step failed in a way a retry may fix.
        Worker = "worker",
        /// The sealed source failed authentication, or was sealed for another asset.
        SourceTampered = "source_tampered",
        /// The sealed source is a copy of another asset's.
        SourceReplayed = "source_replayed",
        /// The sealed source could not be opened.
        SourceUnreadable = "source_unreadable",
        /// The source is not a video workers read.
        SourceNotVideo = "source_not_video",
        /// The source is over this server's limits.
        SourceTooLarge = "source_too_large",
        /// The transcode took longer than the server allows.
        JobTimeout = "job_timeout",
        /// The job failed every attempt.
        AttemptsExhausted = "attempts_exhausted",
    }
}

codes! {
    /// The `code` of every `CinelockError` the SDK throws or reports.
    pub enum ErrorCode {
        // The formats.
        /// Authentication failed: tampered, truncated, reordered, or the wrong key or context.
        Decrypt = "decrypt",
        /// Not a Cinelock sealed stream.
        Malformed = "malformed",
        /// A format version or suite this SDK does not read.
        Unsupported = "unsupported",
        /// A chunk size outside 64 B to 16 MiB.
        ChunkSize = "chunk_size",
        /// Sealed for another recipient key.
        WrongRecipient = "wrong_recipient",
        /// A key that is not a 32-byte X25519 key.
        InvalidKey = "invalid_key",
        /// More plaintext than one stream may hold.
        TooLong = "too_long",
        /// A package manifest that breaks the format's rules.
        InvalidManifest = "invalid_manifest",
        /// A caption track that breaks the rules (WebVTT, language, label).
        InvalidCaptions = "invalid_captions",
        // Uploads.
        /// No part plan fits.
        InvalidPlan = "invalid_plan",
        /// A completion lacks a part.
        MissingPart = "missing_part",
        /// A part the plan does not have.
        UnexpectedPart = "unexpected_part",
        /// A part listed twice.
        DuplicatePart = "duplicate_part",
        /// A part of another size than the plan's.
        PartSize = "part_size",
        /// The store refused a part for good.
        UploadRejected = "upload_rejected",
        /// The multipart upload no longer exists.
        NoSuchUpload = "no_such_upload",
        /// A part kept failing.
        RetriesExhausted = "retries_exhausted",
        /// The server would not sign part URLs.
        SigningFailed = "signing_failed",
        /// Completing the upload failed.
        CompleteFailed = "complete_failed",
        /// The upload was aborted.
        Aborted = "aborted",
        // The browser.
        /// An argument the SDK cannot use.
        InvalidArgument = "invalid_argument",
        /// WebCrypto was asked for where `crypto.subtle` does not exist.
        NoWebcrypto = "no_webcrypto",
        /// Reading the input failed.
        Read = "read",
        /// A browser API failed.
        Platform = "platform",
        /// The server or the store could not be reached.
        Network = "network",
        // Recording.
        /// Recording needs a deliberate act: `start()` outside a user gesture, or the user
        /// (or the browser) refused the camera, microphone or screen.
        NotAllowed = "not_allowed",
        /// The browser's recorder failed, or cannot record this source.
        Recorder = "recorder",
        /// The browser's storage refused the recording's sealed parts (quota, private mode).
        Storage = "storage",
        // Playback.
        /// The manifest could not be used.
        BadManifest = "bad_manifest",
        /// An object could not be fetched.
        FetchFailed = "fetch_failed",
        /// An object failed authentication twice: it is never appended.
        Tampered = "tampered",
        /// A SourceBuffer refused what was appended.
        AppendFailed = "append_failed",
        /// A SourceBuffer is full and nothing can be evicted.
        QuotaExceeded = "quota_exceeded",
        /// This browser cannot play the package.
        UnsupportedMedia = "unsupported_media",
        /// The video element failed to decode.
        MediaError = "media_error",
        /// The player was destroyed.
        Destroyed = "destroyed",
        // Passed on from the server.
        /// The asset's policy refused the session; `reason` says why.
        Denied = "denied",
        /// No such asset.
        UnknownAsset = "unknown_asset",
        /// No package is published yet.
        NotReady = "not_ready",
        /// The asset's transcode failed: it will never play.
        AssetFailed = "asset_failed",
        /// The session token is not one.
        SessionInvalid = "session_invalid",
        /// The session is over.
        SessionExpired = "session_expired",
        /// The player's key was refused.
        InvalidPublicKey = "invalid_public_key",
        /// No such package kind.
        InvalidPackage = "invalid_package",
        /// A path not in the manifest.
        UnknownPath = "unknown_path",
        /// Too many paths at once.
        BatchSize = "batch_size",
        /// The server refused the request as malformed.
        BadRequest = "bad_request",
        /// The server has no object store.
        StorageNotConfigured = "storage_not_configured",
        /// The server could not unwrap the content key.
        KeyUnavailable = "key_unavailable",
        /// The server is busy; try again shortly.
        Busy = "busy",
        /// Any other server error.
        ServerError = "server_error",
    }
}

impl ErrorCode {
    /// The code the SDK reports for a server's error code: the server's own where the SDK
    /// passes it on, `server_error` otherwise.
    pub fn from_api(code: ApiErrorCode) -> ErrorCode {
        use ApiErrorCode as A;
        match code {
            A::Denied => ErrorCode::Denied,
            A::UnknownAsset => ErrorCode::UnknownAsset,
            A::NotReady => ErrorCode::NotReady,
            A::AssetFailed => ErrorCode::AssetFailed,
            A::SessionInvalid => ErrorCode::SessionInvalid,
            A::SessionExpired => ErrorCode::SessionExpired,
            A::InvalidPublicKey => ErrorCode::InvalidPublicKey,
            A::InvalidPackage => ErrorCode::InvalidPackage,
            A::UnknownPath => ErrorCode::UnknownPath,
            A::BatchSize => ErrorCode::BatchSize,
            A::BadRequest
            | A::InvalidJson
            | A::InvalidBody
            | A::ContentType
            | A::MethodNotAllowed
            | A::NotFound => ErrorCode::BadRequest,
            A::StorageNotConfigured => ErrorCode::StorageNotConfigured,
            A::KeyUnavailable => ErrorCode::KeyUnavailable,
            A::Busy => ErrorCode::Busy,
            A::InvalidPlan => ErrorCode::InvalidPlan,
            A::ChunkSize => ErrorCode::ChunkSize,
            A::TooLong => ErrorCode::TooLong,
            A::PartSize => ErrorCode::PartSize,
            A::MissingPart => ErrorCode::MissingPart,
            A::UnexpectedPart => ErrorCode::UnexpectedPart,
            A::DuplicatePart => ErrorCode::DuplicatePart,
            A::Unauthorized
            | A::Forbidden
            | A::BodyTooLarge
            | A::UnknownUpload
            | A::UploadState
            | A::InvalidField
            | A::PartOutOfRange
            | A::InvalidChecksum
            | A::PartsMismatch
            | A::EtagMismatch
            | A::SizeMismatch
            | A::InvalidLink
            | A::ExternalIdTaken
            | A::InvalidWebhookUrl
            | A::UnknownWebhook
            | A::InvalidCaptions
            | A::UnknownCaption
            | A::InvalidScope
            | A::InvalidPolicy
            | A::InvalidTtl
            | A::InvalidCidr
            | A::InvalidOrigin
            | A::InvalidCountry
            | A::SecretTooShort
            | A::InvalidClaims
            | A::Config
            | A::Storage
            | A::Database
            | A::LeaseLost
            | A::Worker
            | A::SourceTampered
            | A::SourceReplayed
            | A::SourceUnreadable
            | A::SourceNotVideo
            | A::SourceTooLarge
            | A::JobTimeout
            | A::AttemptsExhausted
            | A::BeaconCredential
            | A::BeaconAsset
            | A::InvalidBeacon
            | A::TooManyBeacons
            | A::IngestFull
            | A::InvalidQuery => ErrorCode::ServerError,
        }
    }

    /// The code of an error of the core (its formats, upload engine and manifests).
    pub fn from_core(e: &cinelock_core::Error) -> ErrorCode {
        ErrorCode::parse(e.code()).unwrap_or(ErrorCode::Platform)
    }

    /// The code of a fatal playback error of the core's engine.
    pub fn from_playback(code: cinelock_core::playback::ErrorCode) -> ErrorCode {
        ErrorCode::parse(code.as_str()).unwrap_or(ErrorCode::Platform)
    }
}

impl ApiErrorCode {
    /// The code of an error of the core that a request caused (a plan, a policy, a token).
    pub fn from_core(e: &cinelock_core::Error) -> ApiErrorCode {
        ApiErrorCode::parse(e.code()).unwrap_or(ApiErrorCode::BadRequest)
    }

    /// The code of a policy error (a bad allow-list entry or token claims).
    pub fn from_policy(e: &cinelock_core::policy::PolicyError) -> ApiErrorCode {
        ApiErrorCode::parse(e.code()).unwrap_or(ApiErrorCode::InvalidPolicy)
    }
}

/// Every JSON error the server answers: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: ApiErrorCode,
    /// For people.
    pub message: String,
    /// With `denied`: the policy's reason (`token_required`, `origin_not_allowed`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
}
