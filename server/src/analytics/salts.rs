//! The daily salts of viewer pseudonyms, held by the database so every server process (and a
//! restart) uses the same one for a day, and destroyed after 48 hours
//! ([`cinelock_core::analytics::salt`]): the core decides which days live, this module makes,
//! reads and deletes them.

use std::sync::Mutex;

use cinelock_core::analytics::salt::{DailySalt, SaltBook, day_of, salt_alive};
use rand::RngCore;
use sqlx::AnyPool;

use crate::AppError;

/// The salts this process holds (today's and yesterday's at most).
#[derive(Debug, Default)]
pub struct Salts {
    book: Mutex<SaltBook>,
}

impl Salts {
    /// Today's salt: held, else read, else made (a new salt for a new day; when two processes
    /// make one at once, the first stored wins and both use it).
    pub async fn today(&self, db: &AnyPool, now_ms: i64) -> Result<[u8; 32], AppError> {
        if let Some(s) = self.book.lock().expect("salt lock").current(now_ms) {
            return Ok(s.bytes);
        }
        let day = day_of(now_ms);
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        sqlx::query(
            "INSERT INTO analytics_salts (day, salt) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING",
        )
        .bind(day)
        .bind(hex::encode(fresh))
        .execute(db)
        .await?;
        let (stored,): (String,) =
            sqlx::query_as("SELECT salt FROM analytics_salts WHERE day = $1")
                .bind(day)
                .fetch_one(db)
                .await?;
        let bytes: [u8; 32] = hex::decode(&stored)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| AppError::Database("a stored salt is not 32 bytes".into()))?;
        self.book
            .lock()
            .expect("salt lock")
            .insert(DailySalt { day, bytes }, now_ms);
        Ok(bytes)
    }

    /// Destroys the salts past their 48 hours, here and in the database.
    pub async fn purge(&self, db: &AnyPool, now_ms: i64) -> Result<u64, AppError> {
        self.book.lock().expect("salt lock").purge(now_ms);
        let oldest_alive = (day_of(now_ms) - 1..=day_of(now_ms))
            .find(|&d| salt_alive(d, now_ms))
            .unwrap_or(day_of(now_ms));
        let done = sqlx::query("DELETE FROM analytics_salts WHERE day < $1")
            .bind(oldest_alive)
            .execute(db)
            .await?;
        Ok(done.rows_affected())
    }
}
