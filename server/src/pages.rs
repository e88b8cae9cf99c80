//! The pages the server serves (the demo and the iframe embed page) and the headers every
//! response carries.
//!
//! - Every response: `X-Content-Type-Options: nosniff` (nothing is ever sniffed into script or
//!   HTML) and `Referrer-Policy: strict-origin-when-cross-origin`.
//! - Pages: a strict `Content-Security-Policy`: scripts, styles and workers from this origin
//!   only (workers also from `blob:`, which the SDK uses to start its module workers), WebAssembly
//!   compilation, network requests to this origin, the object store and `blob:`, media from `blob:`
//!   (MSE), no plugins, no `<base>`, and framing by this origin alone.
//! - `/embed.html` is framed by customers' pages, so its `frame-ancestors` is the asset's
//!   origin allow-list ([`cinelock_core::policy::frame_ancestors`]): a page whose origin the
//!   list does not admit gets no frame at all, so the list holds for iframe embeds too.

use axum::extract::{Query, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use cinelock_core::policy::frame_ancestors;
use serde::Deserialize;

use crate::AppError;
use crate::state::AppState;

/// The CSP of every page, up to its `frame-ancestors`.
pub fn content_security_policy(state: &AppState, ancestors: &str) -> String {
    let store = state
        .settings()
        .storage
        .as_ref()
        .map(|s| store_sources(&s.endpoint, &s.bucket, s.path_style))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; \
         connect-src 'self' blob:{store}; img-src 'self' data: blob:; media-src 'self' blob:; \
         style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors {ancestors}"
    )
}

/// The object store's origin (and its bucket host, for virtual-hosted addressing), as CSP
/// sources: players fetch segments and uploads PUT parts there.
fn store_sources(endpoint: &str, bucket: &str, path_style: bool) -> String {
    let origin = endpoint.trim_end_matches('/');
    let mut out = format!(" {origin}");
    if !path_style && let Some((scheme, host)) = origin.split_once("://") {
        out.push_str(&format!(" {scheme}://{bucket}.{host}"));
    }
    out
}

/// Adds the page headers to a response that has none yet (the embed page sets its own CSP).
pub async fn with_page_headers(State(state): State<AppState>, mut res: Response) -> Response {
    let h = res.headers_mut();
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        let csp = content_security_policy(&state, "'self'");
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        h.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    res
}

#[derive(Debug, Deserialize)]
pub struct EmbedQuery {
    asset: Option<String>,
}

/// `GET /embed.html?asset=…`: the embed page, framable only where the asset's origin
/// allow-list admits (nowhere, without an existing asset).
pub async fn embed(
    State(state): State<AppState>,
    Query(q): Query<EmbedQuery>,
) -> Result<Response, AppError> {
    let page = tokio::fs::read_to_string(state.settings().demo_dir.join("embed.html"))
        .await
        .map_err(|_| AppError::NotFound)?;
    let ancestors = match &q.asset {
        Some(id) => match crate::playback::stored_policy(&state, id).await? {
            Some(policy) => frame_ancestors(&policy.allowed_origins),
            None => "'none'".into(),
        },
        None => "'none'".into(),
    };
    let csp = content_security_policy(&state, &ancestors);
    let mut res = Html(page).into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    // The asset's list may change at any time: never cached.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
