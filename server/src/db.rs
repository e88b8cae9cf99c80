//! The database: SQLite by default (embedded, zero set-up), PostgreSQL by URL. Queries are
//! written once in the dialect both accept (`$N` placeholders, TEXT/BIGINT columns) and run
//! through sqlx's `Any` driver; migrations live in `server/migrations/`.

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::AppError;

/// Opens the pool and applies pending migrations.
pub async fn connect(url: &str) -> Result<AnyPool, AppError> {
    sqlx::any::install_default_drivers();
    let sqlite_dir = url
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap_or(p))
        .and_then(|path| std::path::Path::new(path).parent())
        .filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = sqlite_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| AppError::Config(format!("cannot create {}: {e}", dir.display())))?;
    }
    // SQLite allows one writer: a small pool avoids "database is locked" under load.
    let max = if url.starts_with("sqlite") { 4 } else { 16 };
    let sqlite = url.starts_with("sqlite");
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if sqlite {
                    use sqlx::Executor;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    if sqlite {
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await?;
    }
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// Sets an asset's status (in the caller's transaction, with what else changed): uploads
/// complete an asset, jobs publish or fail it.
pub(crate) async fn set_asset_status(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    status: &str,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query("UPDATE assets SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The API key that owns the asset, if it exists (an asset being deleted is gone already).
pub async fn asset_owner(db: &AnyPool, id: &str) -> Result<Option<String>, AppError> {
    Ok(
        sqlx::query_scalar("SELECT api_key_id FROM assets WHERE id = $1 AND status <> 'deleting'")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Whether the pool is on PostgreSQL (else SQLite), for the few statements written per dialect.
pub fn is_postgres(db: &AnyPool) -> bool {
    db.connect_options()
        .database_url
        .scheme()
        .starts_with("postgres")
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
