//! The waitlist on SQLite. `INSERT … ON CONFLICT DO NOTHING` keeps the first sign-up untouched —
//! the old system overwrote earlier entries.

use async_trait::async_trait;
use domain::ports::Waitlist;
use domain::{Email, StoreError, WaitlistEntry};
use sqlx::{Row, SqlitePool};

use crate::adapters::internal;
use ids::now_secs;

pub struct SqliteWaitlist {
    pool: SqlitePool,
}

impl SqliteWaitlist {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl Waitlist for SqliteWaitlist {
    async fn join(&self, email: &Email, note: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("INSERT INTO waitlist (email, note, created_at) VALUES (?, ?, ?) ON CONFLICT(email) DO NOTHING")
            .bind(email.as_str())
            .bind(note)
            .bind(now_secs())
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::Internal(internal(e)))?;
        Ok(done.rows_affected() == 1)
    }

    async fn list(&self) -> Result<Vec<WaitlistEntry>, StoreError> {
        let rows =
            sqlx::query("SELECT email, note, created_at FROM waitlist ORDER BY created_at, email")
                .fetch_all(&self.pool)
                .await
                .map_err(|e| StoreError::Internal(internal(e)))?;
        rows.iter()
            .map(|r| {
                Ok(WaitlistEntry {
                    email: Email::parse(r.get("email"))
                        .map_err(|e| StoreError::Internal(internal(e)))?,
                    note: r.get("note"),
                    created_at: r.get("created_at"),
                })
            })
            .collect()
    }
}
