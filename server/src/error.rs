//! The server's one error type and its one conversion into an HTTP response: the contract's
//! [`ErrorBody`] (`{"error": {"code": "...", "message": "..."}}`) with a fitting status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cinelock_contract::{ApiErrorCode, ErrorBody, ErrorDetail};

/// Every failure the server reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// Invalid configuration at start-up.
    #[error("configuration: {0}")]
    Config(String),
    /// No such route.
    #[error("not found")]
    NotFound,
    /// No such upload (or not this token's).
    #[error("unknown upload")]
    UnknownUpload,
    /// Missing, malformed, expired or revoked credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// Valid credentials without the needed scope.
    #[error("forbidden: this key lacks the {0} scope")]
    MissingScope(&'static str),
    /// A request the client can fix; the code names the problem.
    #[error("{message}")]
    BadRequest { code: ApiErrorCode, message: String },
    /// The upload is not in a state that allows this.
    #[error("upload is {0}")]
    Conflict(String),
    /// The asset's transcode failed or was cancelled: it will never play.
    #[error("{0}")]
    AssetFailed(String),
    /// No such webhook endpoint, or not this key's.
    #[error("no such webhook endpoint")]
    UnknownWebhook,
    /// No such caption track of the asset.
    #[error("no such caption track")]
    UnknownCaption,
    /// The route exists, not for this method.
    #[error("this route does not take this method")]
    MethodNotAllowed,
    /// Another of the key's assets has this external id.
    #[error("another asset has this external_id")]
    ExternalIdTaken,
    /// The request body is over the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The upload API is off because no storage is configured.
    #[error("no storage is configured (set CINELOCK_S3_ENDPOINT, or CINELOCK_EMBEDDED_S3_DIR)")]
    StorageNotConfigured,
    /// The object store failed or refused; details are logged, not returned.
    #[error("object store error")]
    Storage(String),
    /// The database failed; details are logged, not returned.
    #[error("database error")]
    Database(String),
    /// No such asset (or not this key's).
    #[error("unknown asset")]
    UnknownAsset,
    /// A content key could not be unwrapped (wrong KEK, damaged value): nothing more is said.
    #[error("content key unavailable")]
    KeyUnavailable,
    /// A transcode failed for a reason retrying cannot fix (the code names it).
    #[error("{message}")]
    Transcode { code: ApiErrorCode, message: String },
    /// A transcode step failed in a way a retry may fix (ffmpeg crashed, a local file error);
    /// details are logged.
    #[error("transcode worker error: {0}")]
    Worker(String),
    /// The asset's policy refused a playback session; the reason is machine-readable.
    #[error("denied: {reason}")]
    Denied {
        reason: &'static str,
        retry_after_ms: Option<u64>,
    },
    /// No package of the asset is published yet.
    #[error("the asset has no playable package yet")]
    NotReady,
    /// A playback session token is invalid or expired (the code says which).
    #[error("{0}")]
    Session(ApiErrorCode),
    /// A transcode worker lost its job's lease (another worker may hold it now).
    #[error("job lease lost")]
    LeaseLost,
    /// Too much of a bounded kind of work at once (password hashes); try again in a second.
    #[error("busy: try again in a moment")]
    Busy,
    /// A beacon refused before its content is looked at (the code says why: credential,
    /// asset, rate, a full queue).
    #[error("beacon refused: {}", .0.as_str())]
    Beacon(ApiErrorCode),
}

impl AppError {
    /// A 400 with a machine-readable code.
    pub fn bad(code: ApiErrorCode, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A 400 for an error of the core a request caused (a plan, a token's claims).
    pub fn bad_core(e: &cinelock_core::Error) -> Self {
        AppError::bad(ApiErrorCode::from_core(e), e.to_string())
    }

    /// A 400 for a policy error (a bad allow-list entry, token claims).
    pub fn bad_policy(e: &cinelock_core::policy::PolicyError) -> Self {
        AppError::bad(ApiErrorCode::from_policy(e), e.to_string())
    }

    /// The machine-readable code (also what a failed job records).
    pub fn code(&self) -> ApiErrorCode {
        self.status_and_code().1
    }

    fn status_and_code(&self) -> (StatusCode, ApiErrorCode) {
        use ApiErrorCode as C;
        match self {
            AppError::Config(_) => (StatusCode::INTERNAL_SERVER_ERROR, C::Config),
            AppError::NotFound => (StatusCode::NOT_FOUND, C::NotFound),
            AppError::UnknownUpload => (StatusCode::NOT_FOUND, C::UnknownUpload),
            AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, C::Unauthorized),
            AppError::MissingScope(_) => (StatusCode::FORBIDDEN, C::Forbidden),
            AppError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, *code),
            AppError::Conflict(_) => (StatusCode::CONFLICT, C::UploadState),
            AppError::ExternalIdTaken => (StatusCode::CONFLICT, C::ExternalIdTaken),
            AppError::AssetFailed(_) => (StatusCode::CONFLICT, C::AssetFailed),
            AppError::UnknownWebhook => (StatusCode::NOT_FOUND, C::UnknownWebhook),
            AppError::UnknownCaption => (StatusCode::NOT_FOUND, C::UnknownCaption),
            AppError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, C::MethodNotAllowed),
            AppError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, C::BodyTooLarge),
            AppError::StorageNotConfigured => {
                (StatusCode::SERVICE_UNAVAILABLE, C::StorageNotConfigured)
            }
            AppError::Storage(_) => (StatusCode::BAD_GATEWAY, C::Storage),
            AppError::Database(_) => (StatusCode::INTERNAL_SERVER_ERROR, C::Database),
            AppError::UnknownAsset => (StatusCode::NOT_FOUND, C::UnknownAsset),
            AppError::KeyUnavailable => (StatusCode::INTERNAL_SERVER_ERROR, C::KeyUnavailable),
            AppError::Transcode { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, *code),
            AppError::Worker(_) => (StatusCode::INTERNAL_SERVER_ERROR, C::Worker),
            AppError::Denied {
                reason: "rate_limited",
                ..
            } => (StatusCode::TOO_MANY_REQUESTS, C::Denied),
            AppError::Denied { .. } => (StatusCode::FORBIDDEN, C::Denied),
            AppError::NotReady => (StatusCode::CONFLICT, C::NotReady),
            AppError::Session(code) => (StatusCode::FORBIDDEN, *code),
            AppError::LeaseLost => (StatusCode::CONFLICT, C::LeaseLost),
            AppError::Busy => (StatusCode::TOO_MANY_REQUESTS, C::Busy),
            AppError::Beacon(code) => (
                match code {
                    C::BeaconCredential => StatusCode::UNAUTHORIZED,
                    C::BeaconAsset => StatusCode::FORBIDDEN,
                    C::TooManyBeacons => StatusCode::TOO_MANY_REQUESTS,
                    C::IngestFull => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::BAD_REQUEST,
                },
                *code,
            ),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Database(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for AppError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        AppError::Database(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        // Internal details go to the log (never URLs or keys: callers pass none), not the client.
        match &self {
            AppError::Storage(detail) | AppError::Database(detail) => {
                tracing::error!(code = code.as_str(), detail, "request failed");
            }
            _ => {}
        }
        let mut body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
                reason: None,
            },
        };
        let retry_after = match self {
            AppError::Busy => Some("1"),
            AppError::Beacon(ApiErrorCode::TooManyBeacons | ApiErrorCode::IngestFull) => Some("5"),
            _ => None,
        };
        if let Some(secs) = retry_after {
            return (
                status,
                [(axum::http::header::RETRY_AFTER, secs)],
                Json(body),
            )
                .into_response();
        }
        if let AppError::Denied {
            reason,
            retry_after_ms,
        } = &self
        {
            body.error.reason = Some((*reason).to_owned());
            if let Some(ms) = retry_after_ms {
                let secs = ms.div_ceil(1000).max(1).to_string();
                return (
                    status,
                    [(axum::http::header::RETRY_AFTER, secs)],
                    Json(body),
                )
                    .into_response();
            }
        }
        (status, Json(body)).into_response()
    }
}
