//! The embedded implementations of the ports: SQLite for accounts, projects, share links, the
//! waitlist and the outbox (delivered by SMTP when a relay is configured), local disk for uploads
//! and delivered files (`layout` says where everything lives), a SQLite queue and `spaceport
//! run-stage` subprocesses for jobs. Their cloud twins are in the `cloud` crate; `startup`
//! chooses by configuration.

pub mod layout;
pub mod local_auth;
pub mod local_delivered;
pub mod local_jobs;
pub mod local_uploads;
pub mod notifier;
pub mod smtp;
pub mod sqlite_attempts;
pub mod sqlite_projects;
pub mod sqlite_shares;
pub mod sqlite_waitlist;

/// Maps a database failure to the ports' `Internal` variants; the cause is logged by the caller
/// exactly once (see `AppError::internal`).
pub fn internal(e: impl std::fmt::Display) -> String {
    format!("database: {e}")
}

/// `NotFound` unless `owner` owns `project`: another user's project looks like a missing one.
pub async fn require_owned_project(
    pool: &sqlx::SqlitePool,
    owner: &domain::UserId,
    project: &domain::ProjectId,
) -> Result<(), domain::StoreError> {
    let row = sqlx::query("SELECT 1 FROM projects WHERE id = ? AND owner_id = ?")
        .bind(&project.0)
        .bind(&owner.0)
        .fetch_optional(pool)
        .await
        .map_err(|e| domain::StoreError::Internal(internal(e)))?;
    row.map(|_| ()).ok_or(domain::StoreError::NotFound)
}
