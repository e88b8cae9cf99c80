//! Multi-row statements in the one dialect SQLite and PostgreSQL share through sqlx's `Any`
//! driver: numbered `$N` placeholders (its query builder writes `?`, which PostgreSQL refuses).

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs};
use sqlx::{Any, AnyPool, Transaction};

/// A bound value.
#[derive(Debug, Clone)]
pub enum Val {
    Text(String),
    Int(i64),
    MaybeText(Option<String>),
    MaybeInt(Option<i64>),
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}

impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}

impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Val::MaybeText(v)
    }
}

impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::MaybeInt(v)
    }
}

/// `($1, $2), ($3, $4)` for `rows` rows of `cols` values.
pub fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Binds `vals` in order.
pub fn bind_all(sql: &str, vals: Vec<Val>) -> Query<'_, Any, AnyArguments<'_>> {
    vals.into_iter().fold(sqlx::query(sql), |q, v| match v {
        Val::Text(s) => q.bind(s),
        Val::Int(i) => q.bind(i),
        Val::MaybeText(s) => q.bind(s),
        Val::MaybeInt(i) => q.bind(i),
    })
}

/// `INSERT INTO {head} VALUES … {tail}` for `rows` (each of the same width), in `tx`; the rows
/// changed.
pub async fn insert_rows(
    tx: &mut Transaction<'_, Any>,
    head: &str,
    rows: Vec<Vec<Val>>,
    tail: &str,
) -> Result<u64, sqlx::Error> {
    let Some(cols) = rows.first().map(Vec::len) else {
        return Ok(0);
    };
    let sql = format!(
        "INSERT INTO {head} VALUES {} {tail}",
        values(rows.len(), cols)
    );
    let vals = rows.into_iter().flatten().collect();
    Ok(bind_all(&sql, vals)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// A query reading rows as `T`, with `vals` bound in order.
fn query_as<T>(sql: &str, vals: Vec<Val>) -> QueryAs<'_, Any, T, AnyArguments<'_>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    vals.into_iter()
        .fold(sqlx::query_as::<_, T>(sql), |q, v| match v {
            Val::Text(s) => q.bind(s),
            Val::Int(i) => q.bind(i),
            Val::MaybeText(s) => q.bind(s),
            Val::MaybeInt(i) => q.bind(i),
        })
}

/// Runs `sql` with `vals` on the pool and reads rows as `T`.
pub async fn fetch_all<T>(db: &AnyPool, sql: &str, vals: Vec<Val>) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    query_as(sql, vals).fetch_all(db).await
}

/// Runs `sql` with `vals` in `tx` and reads rows as `T`.
pub async fn fetch_tx<T>(
    tx: &mut Transaction<'_, Any>,
    sql: &str,
    vals: Vec<Val>,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    query_as(sql, vals).fetch_all(&mut **tx).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbered_placeholders() {
        assert_eq!(super::values(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
