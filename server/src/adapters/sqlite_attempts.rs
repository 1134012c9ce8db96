//! The limiters' counters on SQLite (`domain::ratelimit::AttemptStore`): each update is one
//! `BEGIN IMMEDIATE` transaction, so the read, the decision and the write of a set of keys are
//! never interleaved with another's, in this process or any other on the same database.

use async_trait::async_trait;
use domain::ratelimit::{AttemptStore, Decide, Window};
use domain::StoreError;
use sqlx::{Row, SqlitePool};

use crate::adapters::internal;

pub struct SqliteAttempts {
    pool: SqlitePool,
}

impl SqliteAttempts {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Forgets windows that are over (the periodic sweep calls this).
    pub async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM attempts WHERE expires_at <= ?")
            .bind(i64::try_from(now).unwrap_or(i64::MAX))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(internal(e))
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[async_trait]
impl AttemptStore for SqliteAttempts {
    async fn update(
        &self,
        keys: &[String],
        expires_at: u64,
        decide: &Decide<'_>,
    ) -> Result<Vec<Option<Window>>, StoreError> {
        // IMMEDIATE takes the write lock before the read: two deferred transactions that both
        // read and then write would fail one of them (SQLITE_BUSY) instead of queueing.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let mut before = Vec::with_capacity(keys.len());
        for key in keys {
            let row = sqlx::query("SELECT started_at, failures FROM attempts WHERE key = ?")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            before.push(row.map(|r| Window {
                started_at: u64::try_from(r.get::<i64, _>(0)).unwrap_or(0),
                failures: u32::try_from(r.get::<i64, _>(1)).unwrap_or(u32::MAX),
            }));
        }
        let after = decide(&before);
        for ((key, old), new) in keys.iter().zip(&before).zip(after) {
            if *old == new {
                continue;
            }
            match new {
                Some(w) => sqlx::query(
                    "INSERT INTO attempts (key, started_at, failures, expires_at) \
                     VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET \
                     started_at = excluded.started_at, failures = excluded.failures, \
                     expires_at = excluded.expires_at",
                )
                .bind(key)
                .bind(int(w.started_at))
                .bind(i64::from(w.failures))
                .bind(int(expires_at.max(w.started_at)))
                .execute(&mut *tx)
                .await
                .map_err(db)?,
                None => sqlx::query("DELETE FROM attempts WHERE key = ?")
                    .bind(key)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?,
            };
        }
        tx.commit().await.map_err(db)?;
        Ok(before)
    }
}
