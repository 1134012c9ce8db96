//! The embedded implementations of the ports: SQLite for accounts, projects, the waitlist and the
//! outbox (delivered by SMTP when a relay is configured). Cloud implementations will sit beside these, chosen by configuration in `startup`.

pub mod local_auth;
pub mod local_jobs;
pub mod local_uploads;
pub mod notifier;
pub mod smtp;
pub mod sqlite_projects;
pub mod sqlite_waitlist;

/// Maps a database failure to the ports' `Internal` variants; the cause is logged by the caller
/// exactly once (see `AppError::internal`).
pub fn internal(e: impl std::fmt::Display) -> String {
    format!("database: {e}")
}
