//! Delivery of the outbox through an SMTP relay. The outbox table is the queue: a message is
//! written there before anything else happens, and this task sends what is undelivered, marking
//! each message sent or recording why it failed. A crash, a relay outage or a restart loses
//! nothing; delivery resumes on the next pass. Sending happens off the request path, so a reset
//! request answers in the same time whether or not a mail goes out.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::{Row, SqlitePool};
use tokio::sync::Notify;

use crate::config::Secret;
use ids::now_secs;

/// What a sent message's body becomes in the outbox.
pub const SENT_BODY: &str = "(removed once sent: it may have held a one-time link or password)";

/// Give up on a message after this many failed attempts (it stays in the outbox with its error).
pub const MAX_ATTEMPTS: i64 = 8;
const RETRY_EVERY: Duration = Duration::from_secs(30);

pub struct SmtpDelivery {
    pool: SqlitePool,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpDelivery {
    pub fn new(pool: SqlitePool, url: &Secret, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            // The URL may hold a password: describe the failure without echoing it.
            .map_err(|_| anyhow::anyhow!("smtp_url could not be parsed as an SMTP URL"))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail_from: {e}"))?;
        Ok(Self {
            pool,
            transport,
            from,
        })
    }

    /// One pass over undelivered mail; returns how many messages were sent.
    pub async fn deliver_pending(&self) -> anyhow::Result<usize> {
        let rows = sqlx::query(
            "SELECT id, to_email, subject, body FROM outbox
             WHERE sent_at IS NULL AND attempts < ? ORDER BY id LIMIT 100",
        )
        .bind(MAX_ATTEMPTS)
        .fetch_all(&self.pool)
        .await?;
        let mut sent = 0;
        for row in rows {
            let id: i64 = row.get("id");
            let to: String = row.get("to_email");
            let result = self
                .send_one(&to, row.get("subject"), row.get("body"))
                .await;
            match result {
                Ok(()) => {
                    // The body goes once the relay has it: it may hold a one-time link or a
                    // temporary password, which must not sit in the database in clear.
                    sqlx::query(
                        "UPDATE outbox SET sent_at = ?, attempts = attempts + 1, error = NULL, \
                         body = ? WHERE id = ?",
                    )
                    .bind(now_secs())
                    .bind(SENT_BODY)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                    sent += 1;
                }
                Err(e) => {
                    tracing::warn!(message_id = id, to = %to, error = %e, "mail delivery failed; will retry");
                    sqlx::query(
                        "UPDATE outbox SET attempts = attempts + 1, error = ? WHERE id = ?",
                    )
                    .bind(e.to_string())
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                }
            }
        }
        Ok(sent)
    }

    async fn send_one(&self, to: &str, subject: String, body: String) -> anyhow::Result<()> {
        // Plain text for every client, and the same words as HTML (links clickable) for those
        // that prefer it.
        let html = domain::messages::html_body(&body);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.parse()?)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(body, html))?;
        self.transport.send(message).await?;
        Ok(())
    }

    /// Runs forever: a pass whenever a message is queued (`wake`) and every 30 s for retries.
    pub fn spawn(self: Arc<Self>, wake: Arc<Notify>) {
        tokio::spawn(async move {
            loop {
                match self.deliver_pending().await {
                    Ok(n) if n > 0 => tracing::info!(sent = n, "delivered mail"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "reading the outbox failed"),
                }
                let _ = tokio::time::timeout(RETRY_EVERY, wake.notified()).await;
            }
        });
    }
}
