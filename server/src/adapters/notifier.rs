//! `Notifier` on the embedded database: every message goes into the `outbox` table, which the
//! admin reads with `server outbox`; with `smtp_url` configured, `smtp::SmtpDelivery` sends it on.

use async_trait::async_trait;
use domain::ports::{Message, Notifier};
use domain::StoreError;
use sqlx::{Row, SqlitePool};

use std::sync::Arc;

use tokio::sync::Notify;

use crate::adapters::internal;
use ids::now_secs;

pub struct Outbox {
    pool: SqlitePool,
    /// Wakes the delivery task (if any) when a message is queued.
    wake: Arc<Notify>,
}

/// A message as stored, for the admin command and tests.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub attempts: i64,
    pub error: Option<String>,
}

impl Outbox {
    pub fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// The newest `limit` messages, newest first; only those to `to` when given.
    pub async fn recent(
        &self,
        to: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, to_email, subject, body, created_at, sent_at, attempts, error FROM outbox
             WHERE (?1 IS NULL OR to_email = ?1) ORDER BY id DESC LIMIT ?2",
        )
        .bind(to)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::Internal(internal(e)))?;
        Ok(rows
            .iter()
            .map(|r| StoredMessage {
                id: r.get("id"),
                to: r.get("to_email"),
                subject: r.get("subject"),
                body: r.get("body"),
                created_at: r.get("created_at"),
                sent_at: r.get("sent_at"),
                attempts: r.get("attempts"),
                error: r.get("error"),
            })
            .collect())
    }
}

#[async_trait]
impl Notifier for Outbox {
    async fn send(&self, message: Message) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO outbox (to_email, subject, body, created_at) VALUES (?, ?, ?, ?)")
            .bind(message.to.as_str())
            .bind(&message.subject)
            .bind(&message.body)
            .bind(now_secs())
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::Internal(internal(e)))?;
        // Logged without the body: it may carry a one-time link or a temporary password.
        tracing::info!(to = %message.to, subject = %message.subject, "message added to the outbox");
        self.wake.notify_one();
        Ok(())
    }
}
