//! The analytics intake: a bounded queue of masked beacons and the one task that writes them,
//! many at a time, in one transaction per flush (SQLite and PostgreSQL alike). Beacons are
//! answered as soon as they are queued; when the queue is full they are refused (503) and the
//! player sends them again later. A failed flush is retried until the database takes it, and a
//! stopping server waits for the queue to drain ([`Intake::drained`]), so what was answered
//! 202 is written; only a crash loses what was queued (at most the queue's bound).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cinelock_contract::analytics::IngestStats;
use cinelock_core::analytics::{BeaconEvent, ViewFacts};
use sqlx::AnyPool;

use super::masked::{Item, ViewDims};
use super::rollups;
use crate::sql::{Val, insert_rows};
use tokio::sync::mpsc;

use crate::AppError;

/// Beacons the writer takes per flush at most (each of up to 100 events).
const FLUSH_ITEMS: usize = 512;
/// Events per INSERT statement (9 values each). SQLite wants small statements, many of them in
/// one transaction: its driver's cost per statement grows with the square of the placeholders
/// (500 rows went 5× slower than 32); PostgreSQL wants few round trips (`bench_analytics`).
fn rows_per_statement(db: &AnyPool) -> usize {
    if crate::db::is_postgres(db) { 500 } else { 32 }
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    stored: AtomicU64,
    shed: AtomicU64,
    queued: AtomicU64,
}

/// The queue's sending side, shared by the request handlers.
#[derive(Debug, Clone)]
pub struct Intake {
    tx: mpsc::UnboundedSender<Item>,
    counters: Arc<Counters>,
    capacity: u64,
}

impl Intake {
    /// Starts the writer on `db`; at most `capacity` events wait.
    pub fn start(db: AnyPool, capacity: usize) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        tokio::spawn(run(db, rx, counters.clone()));
        Self {
            tx,
            counters,
            capacity: capacity as u64,
        }
    }

    /// Queues `item`, unless that would pass the bound: `Err` (counted as shed).
    pub fn offer(&self, item: Item) -> Result<(), AppError> {
        let n = item.events.len() as u64;
        let before = self.counters.queued.fetch_add(n, Ordering::AcqRel);
        let refuse = || {
            self.counters.queued.fetch_sub(n, Ordering::AcqRel);
            self.counters.shed.fetch_add(n, Ordering::Relaxed);
            AppError::Beacon(cinelock_contract::ApiErrorCode::IngestFull)
        };
        if before + n > self.capacity {
            return Err(refuse());
        }
        if self.tx.send(item).is_err() {
            return Err(refuse());
        }
        self.counters.accepted.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }

    /// Waits until everything accepted is written, at most `limit`; whether it was.
    pub async fn drained(&self, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.counters.queued.load(Ordering::Acquire) > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        true
    }

    pub fn stats(&self) -> IngestStats {
        let c = &self.counters;
        IngestStats {
            accepted_events: c.accepted.load(Ordering::Relaxed),
            stored_events: c.stored.load(Ordering::Relaxed),
            shed_events: c.shed.load(Ordering::Relaxed),
            queued_events: c.queued.load(Ordering::Relaxed),
        }
    }
}

async fn run(db: AnyPool, mut rx: mpsc::UnboundedReceiver<Item>, counters: Arc<Counters>) {
    let mut items = Vec::with_capacity(FLUSH_ITEMS);
    while rx.recv_many(&mut items, FLUSH_ITEMS).await > 0 {
        let events: u64 = items.iter().map(|i| i.events.len() as u64).sum();
        // A failed flush is retried (the database may be restarting); the items stay queued.
        let mut delay = std::time::Duration::from_millis(100);
        loop {
            match write(&db, &items).await {
                Ok(stored) => {
                    counters.stored.fetch_add(stored, Ordering::Relaxed);
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "writing analytics failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(10));
                }
            }
        }
        counters.queued.fetch_sub(events, Ordering::AcqRel);
        items.clear();
    }
}

/// Writes a flush in one transaction: the events (each `(view, seq)` once), then each view's
/// row and rendition times, merged with what is stored (totals only grow). Returns the events
/// written.
pub async fn write(db: &AnyPool, items: &[Item]) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let rows: Vec<(&ViewDims, &BeaconEvent)> = items
        .iter()
        .flat_map(|i| i.events.iter().map(move |e| (&i.view, e)))
        .collect();
    let per = rows_per_statement(db);
    let mut stored = 0;
    for chunk in rows.chunks(per) {
        let rows = chunk
            .iter()
            .map(|(v, e)| {
                vec![
                    Val::from(v.view_id.as_str()),
                    i64::from(e.seq).into(),
                    v.asset_id.as_str().into(),
                    v.tenant.as_str().into(),
                    v.received_at.into(),
                    (e.at_ms as i64).into(),
                    (e.playhead_ms as i64).into(),
                    e.event.name().into(),
                    serde_json::to_string(e).unwrap_or_default().into(),
                ]
            })
            .collect();
        stored += insert_rows(
            &mut tx,
            "analytics_events (view_id, seq, asset_id, tenant, received_at, at_ms, playhead_ms, kind, data)",
            rows,
            "ON CONFLICT (view_id, seq) DO NOTHING",
        )
        .await?;
    }
    // One row per view of the flush, its facts folded over all its events here.
    let mut views: BTreeMap<&str, (&ViewDims, Vec<BeaconEvent>)> = BTreeMap::new();
    for i in items {
        views
            .entry(i.view.view_id.as_str())
            .or_insert_with(|| (&i.view, Vec::new()))
            .1
            .extend(i.events.iter().cloned());
    }
    let views: Vec<(&ViewDims, ViewFacts)> = views
        .into_values()
        .map(|(dims, events)| (dims, ViewFacts::of(&events)))
        .collect();
    rollups::apply(&mut tx, crate::db::is_postgres(db), &views, per).await?;
    tx.commit().await?;
    Ok(stored)
}
