//! The JSON body extractors, whose rejections are [`AppError`]s, so malformed, oversized or
//! mistyped bodies get the same JSON error shape as everything else: [`ApiJson`] for the API,
//! [`PlainJson`] for what players send from any site. One reading and one error mapping for
//! both; they differ only in whether the `Content-Type` must say JSON.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use cinelock_contract::ApiErrorCode;
use serde::de::DeserializeOwned;

use crate::AppError;

/// Like `axum::Json` (`Content-Type: application/json`, or another `+json` type), with JSON
/// errors.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        if !json {
            return Err(AppError::bad(
                ApiErrorCode::ContentType,
                "expected Content-Type: application/json",
            ));
        }
        read(req, state).await.map(ApiJson)
    }
}

/// A JSON body whatever its `Content-Type`: for what players send from any site. A
/// cross-origin `POST` of `text/plain` is a simple request, which browsers send without a CORS
/// preflight, so a player's session (and its URL requests and beacons) costs one round trip, not
/// two. Nothing here rides on the browser's credentials, so the preflight protected nothing.
pub struct PlainJson<T>(pub T);

impl<S, T> FromRequest<S> for PlainJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        read(req, state).await.map(PlainJson)
    }
}

/// `application/json`, or a `+json` type such as `application/merge-patch+json`.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

/// The body (within the route's `DefaultBodyLimit`), parsed as `T`.
async fn read<S: Send + Sync, T: DeserializeOwned>(req: Request, state: &S) -> Result<T, AppError> {
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::bad(ApiErrorCode::InvalidBody, rejection.body_text())
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            AppError::bad(ApiErrorCode::InvalidJson, "the body is not valid JSON")
        } else {
            AppError::bad(ApiErrorCode::InvalidBody, e.to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_content_types_are_those_axum_takes() {
        for yes in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            assert!(is_json(yes), "{yes}");
        }
        for no in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "json",
            "",
            "application/jsonx",
        ] {
            assert!(!is_json(no), "{no}");
        }
    }
}
