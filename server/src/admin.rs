//! The admin address (`CINELOCK_ADMIN_LISTEN`, loopback by default): `/metrics` in
//! Prometheus' text format, with the database's figures read at each scrape; and the
//! middleware that counts the public routers' requests by route pattern.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppError;
use crate::state::AppState;

/// Counts every request of the router it wraps, by its route pattern.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let response = next.run(req).await;
    state.metrics().request(
        &route,
        &method,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

#[derive(Debug, sqlx::FromRow)]
struct JobCount {
    status: String,
    n: i64,
}

/// The metrics in Prometheus' text format, with the database's figures read now.
pub async fn render(state: &AppState) -> Result<String, AppError> {
    let counts: Vec<JobCount> =
        sqlx::query_as("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
            .fetch_all(state.db())
            .await?;
    let by_state: Vec<(&str, i64)> = ["queued", "running", "succeeded", "failed", "cancelled"]
        .into_iter()
        .map(|name| {
            let n = counts.iter().find(|c| c.status == name).map_or(0, |c| c.n);
            (name, n)
        })
        .collect();
    let depth: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND run_after <= $1")
            .bind(crate::db::now_ms())
            .fetch_one(state.db())
            .await?;
    let ms: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(finished_at - started_at) AS BIGINT) FROM jobs \
         WHERE status = 'succeeded' AND started_at IS NOT NULL AND finished_at IS NOT NULL",
    )
    .fetch_one(state.db())
    .await?;
    let metrics = state.metrics();
    metrics.set_jobs(&by_state, depth, ms.unwrap_or(0) as f64 / 1000.0);
    Ok(metrics.encode())
}

/// The admin router: `/metrics`.
pub fn admin_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(serve))
        .with_state(state)
}

async fn serve(State(state): State<AppState>) -> Result<Response, AppError> {
    let body = render(&state).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
