//! `ProjectStore` on SQLite. Every statement names the owner in its `WHERE` clause, so another
//! user's project behaves exactly like a missing one: ownership lives in the queries, not the UI.

use async_trait::async_trait;
use domain::ports::ProjectStore;
use domain::{FlightInputs, Project, ProjectId, ProjectStatus, ProjectTitle, StoreError, UserId};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use crate::adapters::internal;
use crate::ids::{new_id, now_secs};

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

fn project_from(row: &SqliteRow) -> Result<Project, StoreError> {
    let status_text: String = row.get("status");
    let flight: Option<String> = row.get("flight");
    Ok(Project {
        id: ProjectId(row.get("id")),
        title: ProjectTitle::parse(row.get("title")).map_err(db)?,
        status: ProjectStatus::parse(&status_text)
            .ok_or_else(|| db(format!("unknown status {status_text}")))?,
        flight: flight
            .map(|f| serde_json::from_str::<FlightInputs>(&f))
            .transpose()
            .map_err(db)?,
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    })
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
        let sql = format!(
            "SELECT {COLUMNS} FROM projects WHERE owner_id = ? ORDER BY updated_at DESC, id"
        );
        let rows = sqlx::query(&sql)
            .bind(&owner.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(project_from).collect()
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
