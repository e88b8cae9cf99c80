//! The OpenAPI 3.1 document of the HTTP API, served at `/v1/openapi.json`. Its operations come
//! from the handlers themselves: each is registered with the router and the document in one
//! `routes!` call (routes.rs), so a route cannot be served without being described. This file
//! adds what no handler says: the title, the credentials and the groups.

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{InfoBuilder, OpenApi};

/// Where the document is served.
pub const PATH: &str = "/v1/openapi.json";

const TAGS: [(&str, &str); 9] = [
    (
        "uploads",
        "Sealed uploads: create, sign parts, complete (docs/uploads.md)",
    ),
    (
        "assets",
        "The asset library: list, show, rename, cancel, delete (docs/uploads.md)",
    ),
    ("captions", "Caption and subtitle tracks (docs/playback.md)"),
    ("policy", "Who may play an asset (docs/playback.md)"),
    (
        "viewer-tokens",
        "Viewer tokens and their signing keys (docs/playback.md)",
    ),
    (
        "playback",
        "Playback sessions, for players on any site (docs/playback.md)",
    ),
    (
        "analytics",
        "Playback beacons and reports (docs/analytics.md)",
    ),
    (
        "webhooks",
        "Webhook endpoints and their deliveries (docs/webhooks.md)",
    ),
    ("service", "The service itself"),
];

/// The document: the operations the routers registered, with the rest around them.
pub fn document(mut doc: OpenApi) -> OpenApi {
    doc.info = InfoBuilder::new()
        .title("Cinelock API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Encrypted video: sealed uploads straight to S3, transcoding, key release under \
             policy, captions, analytics and webhooks. Errors are JSON: \
             {\"error\": {\"code\", \"message\", \"reason\"?}}.",
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "api_key",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API key (`clk_…`) with the scope the operation needs",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "upload_token",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The upload's token (from POST /v1/uploads), or the API key that created it",
                ))
                .build(),
        ),
    );
    doc.tags = Some(
        TAGS.iter()
            .map(|(name, about)| {
                TagBuilder::new()
                    .name(*name)
                    .description(Some(*about))
                    .build()
            })
            .collect(),
    );
    doc
}

/// `doc` with each router's operations under the prefix it is nested at (as axum nests it: a
/// nested `/` is the prefix itself).
pub fn nest<const N: usize>(doc: OpenApi, nested: [(&str, OpenApi); N]) -> OpenApi {
    nested.into_iter().fold(doc, |doc, (prefix, other)| {
        doc.nest_with_path_composer(prefix, other, |prefix, path| match path {
            "/" | "" => prefix.to_owned(),
            _ => format!("{prefix}{path}"),
        })
    })
}

/// The document as served: built once, written once.
pub fn served(doc: OpenApi) -> impl IntoResponse + Clone + Send + 'static {
    let json = Bytes::from(document(doc).to_json().expect("the document serialises"));
    ([(header::CONTENT_TYPE, "application/json")], json)
}
