//! Webhooks (docs/webhooks.md): an API key's owner registers endpoints
//! (`POST/GET/DELETE /v1/webhooks`) and receives the events of its assets, signed the Standard
//! Webhooks way. Events are written to an outbox in the same transaction as the change they
//! report ([`outbox`]), and delivered from it with retries, in order per asset ([`delivery`]).

pub mod delivery;
pub mod outbox;

use outbox::parse_events;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use cinelock_contract::ApiErrorCode;
use cinelock_contract::webhooks::{
    CreateWebhook, CreatedWebhook, DeliveryList, DeliveryStatus, DeliveryView, WebhookEventType,
    WebhookList, WebhookView,
};
use cinelock_core::webhook::{SECRET_LEN, public_address, secret_from};
use rand::RngCore;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppError;
use crate::auth::{self, SCOPE_READ, SCOPE_WRITE};
use crate::db::now_ms;
use crate::json::ApiJson;
use crate::state::AppState;

/// Longest endpoint URL.
const MAX_URL: usize = 2048;
/// Most endpoints one API key may register.
const MAX_ENDPOINTS: i64 = 16;
/// Deliveries a log shows.
const LOG_LEN: i64 = 100;

/// The webhook routes, under `/v1/webhooks`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(remove))
        .routes(routes!(deliveries))
}

/// An endpoint as stored.
#[derive(Debug, sqlx::FromRow)]
struct EndpointRow {
    id: String,
    url: String,
    events: String,
    created_at: i64,
}

impl EndpointRow {
    fn view(self) -> WebhookView {
        WebhookView {
            events: parse_events(&self.events),
            id: self.id,
            url: self.url,
            created_at: self.created_at,
        }
    }
}

/// Checks an endpoint URL: http(s), a host, and (unless the server allows private targets) not
/// a literal private or loopback address. Names are checked again at each delivery, where they
/// are resolved.
fn check_url(url: &str, allow_private: bool) -> Result<(), AppError> {
    let bad = |m: &str| AppError::bad(ApiErrorCode::InvalidWebhookUrl, m.to_owned());
    if url.len() > MAX_URL {
        return Err(bad("the URL is too long"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("not a URL"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(bad("the URL must be http(s)"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("the URL may not carry credentials"));
    }
    let private = match parsed.host() {
        None => return Err(bad("the URL has no host")),
        Some(url::Host::Ipv4(ip)) => !public_address(ip.into()),
        Some(url::Host::Ipv6(ip)) => !public_address(ip.into()),
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost")
        }
    };
    if private && !allow_private {
        return Err(bad("the URL points at a private or loopback address"));
    }
    Ok(())
}

/// `POST /v1/webhooks` (API key, uploads:write): registers an endpoint; its secret is in this
/// answer only.
#[utoipa::path(
    post,
    path = "/",
    tag = "webhooks",
    request_body = CreateWebhook,
    responses((status = 201, body = CreatedWebhook), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_WRITE)?;
    check_url(&req.url, state.settings().webhooks.allow_private)?;
    let mut events = req.events.unwrap_or_else(|| WebhookEventType::ALL.to_vec());
    events.sort();
    events.dedup();
    if events.is_empty() {
        return Err(AppError::bad(
            ApiErrorCode::InvalidBody,
            "events must name at least one event type",
        ));
    }
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_endpoints WHERE api_key_id = $1 AND deleted_at IS NULL",
    )
    .bind(&key.id)
    .fetch_one(state.db())
    .await?;
    if count >= MAX_ENDPOINTS {
        return Err(AppError::bad(
            ApiErrorCode::BatchSize,
            format!("at most {MAX_ENDPOINTS} webhook endpoints per API key"),
        ));
    }
    let mut random = [0u8; SECRET_LEN];
    rand::rng().fill_bytes(&mut random);
    let secret = secret_from(&random);
    let row = EndpointRow {
        id: format!("wh_{}", uuid::Uuid::new_v4().simple()),
        url: req.url,
        events: events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(","),
        created_at: now_ms(),
    };
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, api_key_id, url, secret, events, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&row.id)
    .bind(&key.id)
    .bind(&row.url)
    .bind(&secret)
    .bind(&row.events)
    .bind(row.created_at)
    .execute(state.db())
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: row.view(),
            secret,
        }),
    ))
}

/// `GET /v1/webhooks` (API key, uploads:read).
#[utoipa::path(
    get,
    path = "/",
    tag = "webhooks",
    responses((status = 200, body = WebhookList), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<WebhookList>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_READ)?;
    let rows: Vec<EndpointRow> = sqlx::query_as(
        "SELECT id, url, events, created_at FROM webhook_endpoints \
         WHERE api_key_id = $1 AND deleted_at IS NULL ORDER BY created_at",
    )
    .bind(&key.id)
    .fetch_all(state.db())
    .await?;
    Ok(Json(WebhookList {
        webhooks: rows.into_iter().map(EndpointRow::view).collect(),
    }))
}

/// The endpoint `id` of the key's, or `unknown_webhook`.
async fn owned(state: &AppState, key_id: &str, id: &str) -> Result<(), AppError> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM webhook_endpoints WHERE id = $1 AND api_key_id = $2 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(key_id)
    .fetch_optional(state.db())
    .await?;
    found.map(drop).ok_or(AppError::UnknownWebhook)
}

/// `DELETE /v1/webhooks/{id}` (API key, uploads:write): no more deliveries; those pending fail.
#[utoipa::path(
    delete,
    path = "/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, body = WebhookView), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<WebhookView>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_WRITE)?;
    owned(&state, &key.id, &id).await?;
    let now = now_ms();
    let mut tx = state.db().begin().await?;
    sqlx::query("UPDATE webhook_endpoints SET deleted_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET failed_at = $1, last_error = 'the endpoint was deleted' \
         WHERE endpoint_id = $2 AND delivered_at IS NULL AND failed_at IS NULL",
    )
    .bind(now)
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    let row: EndpointRow =
        sqlx::query_as("SELECT id, url, events, created_at FROM webhook_endpoints WHERE id = $1")
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Json(row.view()))
}

/// A delivery as the log shows it.
#[derive(Debug, sqlx::FromRow)]
struct DeliveryRow {
    message_id: String,
    event_type: String,
    asset_id: String,
    attempts: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    delivered_at: Option<i64>,
    failed_at: Option<i64>,
}

/// `GET /v1/webhooks/{id}/deliveries` (API key, uploads:read): the newest deliveries.
#[utoipa::path(
    get,
    path = "/{id}/deliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")),
    responses((status = 200, body = DeliveryList), (status = "4XX", description = "A JSON error: `{\"error\": {\"code\", \"message\"}}`", body = cinelock_contract::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn deliveries(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<DeliveryList>, AppError> {
    let key = auth::api_key(state.db(), &headers).await?;
    key.require(SCOPE_READ)?;
    owned(&state, &key.id, &id).await?;
    let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
        "SELECT message_id, event_type, asset_id, attempts, last_status, last_error, created_at, \
                delivered_at, failed_at \
         FROM webhook_deliveries WHERE endpoint_id = $1 \
         ORDER BY created_at DESC, seq DESC LIMIT {LOG_LEN}"
    ))
    .bind(&id)
    .fetch_all(state.db())
    .await?;
    let deliveries = rows
        .into_iter()
        .filter_map(|r| {
            Some(DeliveryView {
                event_type: WebhookEventType::parse(&r.event_type)?,
                status: match (r.delivered_at, r.failed_at) {
                    (Some(_), _) => DeliveryStatus::Delivered,
                    (None, Some(_)) => DeliveryStatus::Failed,
                    (None, None) => DeliveryStatus::Pending,
                },
                message_id: r.message_id,
                asset_id: r.asset_id,
                attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
                last_status: r.last_status.and_then(|s| u16::try_from(s).ok()),
                last_error: r.last_error,
                created_at: r.created_at,
                delivered_at: r.delivered_at,
            })
        })
        .collect();
    Ok(Json(DeliveryList { deliveries }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_and_public_unless_allowed() {
        assert!(check_url("https://hooks.example.com/cinelock", false).is_ok());
        assert!(check_url("http://93.184.216.34:8080/x", false).is_ok());
        for bad in [
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "not a url",
            "https://127.0.0.1/",
            "http://[::1]:8080/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5/",
            "http://localhost:9000/",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:9000/", true).is_ok());
    }
}
