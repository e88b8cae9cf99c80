//! Password guesses: how many a client and an asset get, kept in the database so a restart
//! resets nothing, and how many Argon2 hashes run at once.
//!
//! Every guess spends one attempt under two keys: the asset and the client (an IPv4 address or
//! an IPv6 /64, see [`policy::guess_key`]), and the asset alone. The second bounds what any
//! number of addresses can try against one asset, at the price that a flood of guesses can make
//! honest viewers of that asset wait (a viewer token skips the password entirely). Each key
//! is one GCRA theoretical arrival time in `rate_limits`, updated by compare-and-set, so
//! concurrent servers on one database share the counts exactly.

use std::sync::Arc;

use cinelock_core::policy::{self, Deny, RateConfig};
use sqlx::AnyPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::denied;
use crate::AppError;

/// Guesses per asset and client: 5 at once, then one a minute.
pub const PER_CLIENT: RateConfig = RateConfig {
    burst: 5,
    interval_ms: 60_000,
    max_keys: usize::MAX,
};

/// Guesses per asset from everyone together: 20 at once, then one every 15 s (5 760 a day).
pub const PER_ASSET: RateConfig = RateConfig {
    burst: 20,
    interval_ms: 15_000,
    max_keys: usize::MAX,
};

/// Compare-and-set rounds before a key this contended counts as limited.
const CAS_ROUNDS: usize = 8;

/// Spends one guess of `client` at `asset_id`: both budgets, or a denial with the wait.
pub async fn spend(
    db: &AnyPool,
    asset_id: &str,
    client: std::net::IpAddr,
    now_ms: u64,
) -> Result<(), AppError> {
    let per_client = format!("pw/{asset_id}/{}", policy::guess_key(client));
    step(db, &per_client, &PER_CLIENT, now_ms).await?;
    step(db, &format!("pw/{asset_id}"), &PER_ASSET, now_ms).await
}

/// One attempt under `key`, atomically against concurrent requests.
async fn step(db: &AnyPool, key: &str, config: &RateConfig, now_ms: u64) -> Result<(), AppError> {
    for _ in 0..CAS_ROUNDS {
        let tat: Option<(i64,)> = sqlx::query_as("SELECT tat FROM rate_limits WHERE key = $1")
            .bind(key)
            .fetch_optional(db)
            .await?;
        let old = tat.map(|(t,)| t.max(0) as u64);
        let next = config.step(old, now_ms).map_err(denied)? as i64;
        let written = match old {
            None => sqlx::query(
                "INSERT INTO rate_limits (key, tat) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(next)
            .execute(db)
            .await?
            .rows_affected(),
            Some(old) => sqlx::query("UPDATE rate_limits SET tat = $1 WHERE key = $2 AND tat = $3")
                .bind(next)
                .bind(key)
                .bind(old as i64)
                .execute(db)
                .await?
                .rows_affected(),
        };
        if written == 1 {
            return Ok(());
        }
    }
    Err(denied(Deny::RateLimited {
        retry_after_ms: 1000,
    }))
}

/// Forgets keys whose budgets are full again (they behave as unseen); returns how many.
pub async fn purge(db: &AnyPool, now_ms: i64) -> Result<u64, AppError> {
    Ok(sqlx::query("DELETE FROM rate_limits WHERE tat <= $1")
        .bind(now_ms)
        .execute(db)
        .await?
        .rows_affected())
}

/// The Argon2 hashes allowed at once (each takes about 19 MiB and a core for tens of ms).
#[derive(Debug, Clone)]
pub struct Hashers(Arc<Semaphore>);

impl Hashers {
    pub fn new(permits: usize) -> Self {
        Self(Arc::new(Semaphore::new(permits)))
    }

    /// A slot for one hash, or [`AppError::Busy`] at once when all are taken: a flood of
    /// guesses is shed before it costs memory or CPU.
    pub fn try_hash(&self) -> Result<OwnedSemaphorePermit, AppError> {
        self.0
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::Busy)
    }

    /// Takes every slot (while the permit lives, every guess is shed): for tests of the bound.
    pub async fn hold_all(&self, permits: u32) -> OwnedSemaphorePermit {
        self.0
            .clone()
            .acquire_many_owned(permits)
            .await
            .expect("never closed")
    }
}
