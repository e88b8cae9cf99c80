//! The router: `app(state)` builds every route, so tests drive it with `oneshot`.

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::routing::{any, get};
use axum::{Json, Router};
use cinelock_contract::Health;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use crate::{AppError, analytics, assets, captions, deletion, pages, playback, uploads, webhooks};

/// JSON bodies of the API are small; anything bigger is refused before parsing.
const API_BODY_LIMIT: usize = 64 * 1024;

/// How long a browser may keep a preflight's answer. Without it Chromium keeps one for 5 s, so
/// an upload from another origin whose part signings are further apart paid a preflight round
/// trip before each. An hour, as the bucket's own CORS rules (`Storage::configure_cors`).
const PREFLIGHT_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Every route of the service.
pub fn app(state: AppState) -> Router {
    let cfg = state.settings();
    // Requests are counted by route pattern (metrics.rs).
    let track = axum::middleware::from_fn_with_state(state.clone(), crate::admin::track);
    // Missing files and wrong methods answer JSON errors like the API.
    let files = |dir: std::path::PathBuf| {
        ServeDir::new(dir)
            .call_fallback_on_method_not_allowed(true)
            .fallback(any(static_miss))
    };
    let sdk = crate::sdk_files::routes(state.sdk().clone())
        .method_not_allowed_fallback(method_not_allowed)
        // The SDK is fetched by pages on other origins (the embed snippet).
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ));
    // Every API route is registered with its OpenAPI operation (`routes!`), so the document
    // served at /v1/openapi.json cannot leave one out (openapi.rs).
    let (api, api_doc) = OpenApiRouter::new()
        .routes(routes!(uploads::create))
        .routes(routes!(uploads::show, uploads::abort))
        .routes(routes!(uploads::sign))
        .routes(routes!(uploads::complete))
        .routes(routes!(assets::list))
        .routes(routes!(assets::show, assets::patch, deletion::delete))
        .routes(routes!(assets::cancel))
        .nest("/assets/{id}/captions", captions::routes())
        .routes(routes!(
            playback::get_policy,
            playback::put_policy,
            playback::patch_policy
        ))
        .routes(routes!(playback::mint_token))
        .routes(routes!(
            playback::viewer_keys::create_handler,
            playback::viewer_keys::list_handler
        ))
        .routes(routes!(playback::viewer_keys::revoke_handler))
        .nest("/analytics", analytics::api_routes())
        .nest("/webhooks", webhooks::routes())
        .split_for_parts();
    // The fallbacks before the layers: CORS answers a preflight before any method check.
    let api = api
        .route_layer(track.clone())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .layer(
            CorsLayer::new()
                .allow_origin(allow_origin(&cfg.allowed_origins))
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .max_age(PREFLIGHT_MAX_AGE),
        );
    // Players embedded on any site ask for sessions: the asset's policy (origin allow-list
    // included) decides, not CORS. Their bodies are read as JSON whatever the Content-Type
    // (`PlainJson`): the SDK sends `text/plain`, with no preflight before it.
    let (play, play_doc) = OpenApiRouter::new()
        .routes(routes!(playback::play))
        .routes(routes!(playback::urls))
        .split_for_parts();
    let play = play
        .route_layer(track.clone())
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        .layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::any())
                .allow_methods([Method::POST])
                .allow_headers([header::CONTENT_TYPE])
                .max_age(PREFLIGHT_MAX_AGE),
        );
    // Players on any site report their views; the credential decides, not CORS. Beacons are
    // `text/plain`, so browsers send them without a preflight.
    let (beacons, beacons_doc) = analytics::beacon_routes().split_for_parts();
    let beacons = beacons
        .route_layer(track.clone())
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(analytics::MAX_BODY))
        .layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::any())
                .allow_methods([Method::POST])
                .allow_headers([header::CONTENT_TYPE])
                .max_age(PREFLIGHT_MAX_AGE),
        );
    let (health, doc) = OpenApiRouter::new()
        .routes(routes!(healthz))
        .split_for_parts();
    let doc = crate::openapi::served(crate::openapi::nest(
        doc,
        [
            ("/v1/beacons", beacons_doc),
            ("/v1/play", play_doc),
            ("/v1", api_doc),
        ],
    ));
    health
        .route(crate::openapi::PATH, get(move || std::future::ready(doc.clone())))
        .nest("/v1/beacons", beacons)
        .route("/embed.html", get(pages::embed))
        .nest("/v1/play", play)
        .nest("/v1", api)
        .nest("/sdk", sdk)
        .fallback_service(files(cfg.demo_dir.clone()))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            pages::with_page_headers,
        ))
        // Every request gets an id (or keeps the one a proxy gave it), answered in
        // `x-request-id` and carried by the log lines of its span. The span names the method
        // and the path without its query (which may hold a token), nothing else.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The configured browser origins (none, or `*`: any origin). Shared with the embedded S3
/// store, which must admit the same pages.
pub(crate) fn allow_origin(allowed: &[String]) -> AllowOrigin {
    let origins: Vec<HeaderValue> = allowed.iter().filter_map(|o| o.parse().ok()).collect();
    if origins.is_empty() || allowed.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins)
    }
}

/// Whether the service is up, and whether it has an object store.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        storage: state.storage().is_ok(),
    })
}

async fn not_found() -> AppError {
    AppError::NotFound
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// What a static directory answers for a file it does not have, or a method other than
/// GET and HEAD.
async fn static_miss(method: Method) -> AppError {
    if method == Method::GET || method == Method::HEAD {
        AppError::NotFound
    } else {
        AppError::MethodNotAllowed
    }
}
