//! A JSON body extractor whose rejections are [`AppError`]s, so malformed, oversized or
//! mistyped bodies get the same JSON error shape as everything else.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use cinelock_contract::ApiErrorCode;

use crate::AppError;

/// Like `axum::Json`, with JSON errors.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::PayloadTooLarge)
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::bad(
                ApiErrorCode::ContentType,
                "expected Content-Type: application/json",
            )),
            Err(JsonRejection::JsonSyntaxError(_)) => Err(AppError::bad(
                ApiErrorCode::InvalidJson,
                "the body is not valid JSON",
            )),
            Err(rejection) => Err(AppError::bad(
                ApiErrorCode::InvalidBody,
                rejection.body_text(),
            )),
        }
    }
}

/// A JSON body whatever its `Content-Type`: for what players send from any site. A
/// cross-origin `POST` of `text/plain` is a simple request, which browsers send without a CORS
/// preflight, so a player's session (and its URL requests and beacons) costs one round trip, not
/// two. Nothing here rides on the browser's credentials, so the preflight protected nothing.
/// Errors are [`ApiJson`]'s.
pub struct PlainJson<T>(pub T);

impl<S, T> FromRequest<S> for PlainJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge
                } else {
                    AppError::bad(ApiErrorCode::InvalidBody, rejection.body_text())
                }
            })?;
        serde_json::from_slice(&bytes).map(PlainJson).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                AppError::bad(ApiErrorCode::InvalidJson, "the body is not valid JSON")
            } else {
                AppError::bad(ApiErrorCode::InvalidBody, e.to_string())
            }
        })
    }
}
