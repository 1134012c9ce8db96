//! `ProjectStore` on SQLite. Every statement names the owner in its `WHERE` clause, so another
//! user's project behaves exactly like a missing one: ownership lives in the queries, not the UI.

use async_trait::async_trait;
use domain::ports::ProjectStore;
use domain::{FlightInputs, Project, ProjectId, ProjectStatus, ProjectTitle, StoreError, UserId};
use serde::Deserialize;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use crate::adapters::internal;
use ids::{new_id, now_secs};

/// A generous ceiling that still stops a runaway script from filling the disk.
pub const MAX_PROJECTS_PER_USER: i64 = 10_000;

pub struct SqliteProjects {
    pool: SqlitePool,
}

impl SqliteProjects {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(internal(e))
}

/// A project as stored, before its fields are re-validated into domain types. Rows arrive either
/// as SQLite rows or, for listings, as JSON built inside SQLite (see `list`).
#[derive(Deserialize)]
struct StoredProject {
    id: String,
    title: String,
    status: String,
    flight: Option<FlightInputs>,
    created_at: i64,
    updated_at: i64,
}

impl StoredProject {
    fn from_row(row: &SqliteRow) -> Result<Self, StoreError> {
        let flight: Option<String> = row.get(3);
        Ok(Self {
            id: row.get(0),
            title: row.get(1),
            status: row.get(2),
            flight: flight
                .map(|f| serde_json::from_str(&f))
                .transpose()
                .map_err(db)?,
            created_at: row.get(4),
            updated_at: row.get(5),
        })
    }

    fn into_project(self) -> Result<Project, StoreError> {
        Ok(Project {
            id: ProjectId(self.id),
            title: ProjectTitle::parse(&self.title).map_err(db)?,
            status: ProjectStatus::parse(&self.status)
                .ok_or_else(|| db(format!("unknown status {}", self.status)))?,
            flight: self.flight,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn project_from(row: &SqliteRow) -> Result<Project, StoreError> {
    StoredProject::from_row(row)?.into_project()
}

const COLUMNS: &str = "id, title, status, flight, created_at, updated_at";

impl SqliteProjects {
    /// Runs an `UPDATE … WHERE id = ? AND owner_id = ? RETURNING …` built from `set`, binding
    /// `value` first; `NotFound` when no row of this owner matched.
    async fn update(
        &self,
        owner: &UserId,
        id: &ProjectId,
        set: &str,
        value: String,
    ) -> Result<Project, StoreError> {
        let sql = format!(
            "UPDATE projects SET {set} = ?, updated_at = ? WHERE id = ? AND owner_id = ? RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(value)
            .bind(now_secs())
            .bind(&id.0)
            .bind(&owner.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound)?;
        project_from(&row)
    }
}

#[async_trait]
impl ProjectStore for SqliteProjects {
    async fn list(&self, owner: &UserId) -> Result<Vec<Project>, StoreError> {
        // One JSON array built inside SQLite instead of one row per project: sqlx's SQLite driver
        // hands every row across threads, and for long lists that hand-off, not the query,
        // dominated the time (`scripts/bench.sh`: see ARCHITECTURE.md for the figures).
        let json: String = sqlx::query_scalar(
            "SELECT json_group_array(json_object(
                 'id', id, 'title', title, 'status', status, 'flight', json(flight),
                 'created_at', created_at, 'updated_at', updated_at)
               ORDER BY updated_at DESC, id)
             FROM projects WHERE owner_id = ?",
        )
        .bind(&owner.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        serde_json::from_str::<Vec<StoredProject>>(&json)
            .map_err(db)?
            .into_iter()
            .map(StoredProject::into_project)
            .collect()
    }

    async fn get(&self, owner: &UserId, id: &ProjectId) -> Result<Project, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM projects WHERE id = ? AND owner_id = ?");
        let row = sqlx::query(&sql)
            .bind(&id.0)
            .bind(&owner.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound)?;
        project_from(&row)
    }

    async fn create(&self, owner: &UserId, title: &ProjectTitle) -> Result<Project, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE owner_id = ?")
            .bind(&owner.0)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        if count >= MAX_PROJECTS_PER_USER {
            return Err(StoreError::LimitReached(format!(
                "an account can hold {MAX_PROJECTS_PER_USER} projects; delete some first"
            )));
        }
        let now = now_secs();
        let sql = format!(
            "INSERT INTO projects (id, owner_id, title, status, flight, created_at, updated_at)
             VALUES (?, ?, ?, ?, NULL, ?, ?) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new_id())
            .bind(&owner.0)
            .bind(title.as_str())
            .bind(ProjectStatus::Draft.as_str())
            .bind(now)
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        project_from(&row)
    }

    async fn rename(
        &self,
        owner: &UserId,
        id: &ProjectId,
        title: &ProjectTitle,
    ) -> Result<Project, StoreError> {
        self.update(owner, id, "title", title.as_str().to_owned())
            .await
    }

    async fn set_flight_inputs(
        &self,
        owner: &UserId,
        id: &ProjectId,
        inputs: &FlightInputs,
    ) -> Result<Project, StoreError> {
        let json = serde_json::to_string(inputs).map_err(db)?;
        self.update(owner, id, "flight", json).await
    }

    async fn set_status(
        &self,
        owner: &UserId,
        id: &ProjectId,
        status: ProjectStatus,
    ) -> Result<Project, StoreError> {
        self.update(owner, id, "status", status.as_str().to_owned())
            .await
    }

    async fn delete(&self, owner: &UserId, id: &ProjectId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM projects WHERE id = ? AND owner_id = ?")
            .bind(&id.0)
            .bind(&owner.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
