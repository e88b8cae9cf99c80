//! Delivering the outbox: due deliveries are leased (so two servers never send the same one at
//! once), signed (`cinelock_core::webhook`) and POSTed; a 2xx delivers, anything else is tried
//! again later on the core's schedule, up to its attempt limit. An endpoint's events about one
//! asset go in order: each waits until those before it are delivered or failed for good.
//!
//! The endpoint's name is resolved here and every address checked: one on a private or
//! loopback network fails the delivery (unless the server allows it), and the request goes to
//! the address that was checked, so a name cannot be re-pointed between check and connect.
//! Redirects are not followed.

use std::net::SocketAddr;
use std::time::Duration;

use cinelock_core::webhook::{MAX_ATTEMPTS, public_address, retry_delay_ms, signature};

use crate::AppError;
use crate::db::now_ms;
use crate::state::AppState;

/// How long a delivery is leased to the server sending it.
const LEASE_MS: i64 = 60_000;
/// How long an endpoint has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries sent per pass.
const BATCH: i64 = 32;
/// How much of an error to keep in the log.
const ERROR_LEN: usize = 300;

/// A delivery to make.
#[derive(Debug, sqlx::FromRow)]
struct Due {
    id: String,
    message_id: String,
    payload: String,
    attempts: i64,
    url: String,
    secret: String,
}

/// Sends the due deliveries once; returns how many were attempted.
pub async fn pass(state: &AppState) -> Result<usize, AppError> {
    let now = now_ms();
    let due: Vec<Due> = sqlx::query_as(&format!(
        "SELECT d.id, d.message_id, d.payload, d.attempts, e.url, e.secret \
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
         WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= $1 \
           AND (d.lease_until IS NULL OR d.lease_until < $1) \
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries b \
               WHERE b.endpoint_id = d.endpoint_id AND b.asset_id = d.asset_id \
                 AND b.delivered_at IS NULL AND b.failed_at IS NULL \
                 AND (b.seq < d.seq OR (b.seq = d.seq AND b.created_at < d.created_at))) \
         ORDER BY d.next_attempt_at LIMIT {BATCH}"
    ))
    .bind(now)
    .fetch_all(state.db())
    .await?;
    let mut sent = 0;
    for d in due {
        let leased = sqlx::query(
            "UPDATE webhook_deliveries SET lease_until = $1 \
             WHERE id = $2 AND (lease_until IS NULL OR lease_until < $3) AND delivered_at IS NULL",
        )
        .bind(now + LEASE_MS)
        .bind(&d.id)
        .bind(now)
        .execute(state.db())
        .await?;
        if leased.rows_affected() != 1 {
            continue;
        }
        sent += 1;
        let outcome = send(state, &d).await;
        record(state, &d, outcome).await?;
    }
    Ok(sent)
}

/// What an attempt came to.
enum Outcome {
    Delivered(u16),
    /// Worth another attempt: a status, or no answer.
    Failed(Option<u16>, String),
    /// Never worth another: the endpoint is on a refused address.
    Refused(String),
}

async fn send(state: &AppState, d: &Due) -> Outcome {
    let Ok(url) = reqwest::Url::parse(&d.url) else {
        return Outcome::Refused("the endpoint URL does not parse".into());
    };
    let Some(host) = url.host_str().map(str::to_owned) else {
        return Outcome::Refused("the endpoint URL has no host".into());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let host_for_lookup = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addrs: Vec<SocketAddr> =
        match tokio::net::lookup_host((host_for_lookup.as_str(), port)).await {
            Ok(a) => a.collect(),
            Err(e) => {
                return Outcome::Failed(None, format!("the endpoint's name did not resolve: {e}"));
            }
        };
    let allow_private = state.settings().webhooks.allow_private;
    let Some(addr) = addrs.first().copied() else {
        return Outcome::Failed(None, "the endpoint's name has no address".into());
    };
    if !allow_private && addrs.iter().any(|a| !public_address(a.ip())) {
        return Outcome::Refused("the endpoint resolves to a private or loopback address".into());
    }
    let timestamp = now_ms() / 1000;
    let Some(sig) = signature(&d.secret, &d.message_id, timestamp, d.payload.as_bytes()) else {
        return Outcome::Refused("the endpoint's secret is unusable".into());
    };
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .resolve(&host, addr)
        .build()
    {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(None, format!("no HTTP client: {e}")),
    };
    let result = client
        .post(url)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("cinelock-webhooks/", env!("CARGO_PKG_VERSION")),
        )
        .header("webhook-id", &d.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", sig)
        .body(d.payload.clone())
        .send()
        .await;
    match result {
        Ok(res) if res.status().is_success() => Outcome::Delivered(res.status().as_u16()),
        Ok(res) => Outcome::Failed(
            Some(res.status().as_u16()),
            format!("the endpoint answered {}", res.status()),
        ),
        // The URL may carry the customer's own credentials: never in the log.
        Err(e) => Outcome::Failed(None, format!("no answer: {}", e.without_url())),
    }
}

async fn record(state: &AppState, d: &Due, outcome: Outcome) -> Result<(), AppError> {
    let now = now_ms();
    let attempts = d.attempts + 1;
    let (status, error, delivered, failed, next) = match outcome {
        Outcome::Delivered(s) => (Some(s), None, Some(now), None, now),
        Outcome::Refused(e) => (None, Some(e), None, Some(now), now),
        Outcome::Failed(s, e) => {
            let attempt = u32::try_from(attempts).unwrap_or(u32::MAX);
            if attempt >= MAX_ATTEMPTS {
                (s, Some(e), None, Some(now), now)
            } else {
                let delay = retry_delay_ms(state.settings().webhooks.retry_base_ms, attempt);
                (s, Some(e), None, None, now + delay as i64)
            }
        }
    };
    let error = error.map(|mut e| {
        e.truncate(ERROR_LEN);
        e
    });
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = $1, last_status = $2, last_error = $3, \
             delivered_at = $4, failed_at = $5, next_attempt_at = $6, lease_until = NULL \
         WHERE id = $7",
    )
    .bind(attempts)
    .bind(status.map(i64::from))
    .bind(error)
    .bind(delivered)
    .bind(failed)
    .bind(next)
    .bind(&d.id)
    .execute(state.db())
    .await?;
    Ok(())
}

/// Delivers for as long as the server runs, every half second.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        if let Err(e) = pass(&state).await {
            tracing::warn!(error = %e, "webhook delivery pass failed");
        }
    }
}
