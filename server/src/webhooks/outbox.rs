//! Writing events to the webhook outbox, in the transaction of the change they report: an
//! event is queued exactly when its change is committed, and survives restarts.

use cinelock_contract::webhooks::{WebhookData, WebhookEventType, WebhookPayload};
use sqlx::{Any, Transaction};

use crate::AppError;

/// An endpoint that may want the event.
#[derive(Debug, sqlx::FromRow)]
struct Subscriber {
    id: String,
    events: String,
}

/// Queues `event` about asset `data.asset_id` for every endpoint of the asset's owner that
/// takes it, in `tx`.
pub(crate) async fn emit(
    tx: &mut Transaction<'_, Any>,
    event: WebhookEventType,
    data: WebhookData,
    now: i64,
) -> Result<(), AppError> {
    let owner: Option<String> = sqlx::query_scalar("SELECT api_key_id FROM assets WHERE id = $1")
        .bind(&data.asset_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(owner) = owner else {
        return Ok(());
    };
    let endpoints: Vec<Subscriber> = sqlx::query_as(
        "SELECT id, events FROM webhook_endpoints WHERE api_key_id = $1 AND deleted_at IS NULL",
    )
    .bind(&owner)
    .fetch_all(&mut **tx)
    .await?;
    let endpoints: Vec<Subscriber> = endpoints
        .into_iter()
        .filter(|e| parse_events(&e.events).contains(&event))
        .collect();
    if endpoints.is_empty() {
        return Ok(());
    }
    let asset_id = data.asset_id.clone();
    let payload = serde_json::to_string(&WebhookPayload {
        event_type: event,
        timestamp: now,
        data,
    })
    .expect("payloads serialise");
    // One message id for the event: an endpoint sees the same id on every retry.
    let message_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    for endpoint in endpoints {
        let seq: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM webhook_deliveries \
             WHERE endpoint_id = $1 AND asset_id = $2",
        )
        .bind(&endpoint.id)
        .bind(&asset_id)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO webhook_deliveries \
                 (id, message_id, endpoint_id, event_type, asset_id, seq, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&message_id)
        .bind(&endpoint.id)
        .bind(event.as_str())
        .bind(&asset_id)
        .bind(seq)
        .bind(&payload)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The data of an event about `asset_id` alone.
pub(crate) fn about(asset_id: &str) -> WebhookData {
    WebhookData {
        asset_id: asset_id.to_owned(),
        upload_id: None,
        error: None,
    }
}

/// Stored event types (comma-separated wire names).
pub(crate) fn parse_events(stored: &str) -> Vec<WebhookEventType> {
    stored
        .split(',')
        .filter_map(WebhookEventType::parse)
        .collect()
}
