//! The embedded database: one SQLite file in the data directory, in WAL mode, with the schema
//! migrations applied at start-up. Migrations are plain SQL files compiled into the binary and
//! tracked with SQLite's own `user_version`, so a fresh or an old database both end up current.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

/// The schema's history, oldest first. Never edit a released entry; append a new one.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_uploads_jobs.sql"),
    include_str!("../migrations/0003_shares.sql"),
    include_str!("../migrations/0004_job_process.sql"),
    include_str!("../migrations/0005_event_data.sql"),
    include_str!("../migrations/0006_job_told.sql"),
    include_str!("../migrations/0007_attempts.sql"),
    include_str!("../migrations/0008_user_disabled.sql"),
];

pub async fn open(path: &Path) -> anyhow::Result<SqlitePool> {
    let url = format!("sqlite://{}", path.display());
    let options = SqliteConnectOptions::from_str(&url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    migrate(&pool).await?;
    Ok(pool)
}

async fn migrate(pool: &SqlitePool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    let current: i64 = sqlx::query("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?
        .get(0);
    let known = i64::try_from(MIGRATIONS.len())?;
    if current > known {
        anyhow::bail!(
            "the database is at schema version {current} but this build knows only {known}; \
             run a newer Spaceport or restore a matching backup"
        );
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current)?)
    {
        let version = index + 1;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        // PRAGMA takes no bind parameters; `version` is our own integer.
        sqlx::raw_sql(&format!("PRAGMA user_version = {version}"))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "applied database migration");
    }
    Ok(())
}
