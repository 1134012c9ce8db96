//! Public share links on SQLite. A link is 128 random bits; one per project (a UNIQUE column), so
//! sharing twice gives the same link and revoking deletes it.

use async_trait::async_trait;
use domain::ports::ShareLinks;
use domain::{ProjectId, StoreError, UserId};
use sqlx::{Row, SqlitePool};

use crate::adapters::{internal, require_owned_project};
use ids::{new_id, now_secs};

pub struct SqliteShares {
    pool: SqlitePool,
}

impl SqliteShares {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(internal(e))
}

#[async_trait]
impl ShareLinks for SqliteShares {
    async fn share(&self, owner: &UserId, project: &ProjectId) -> Result<String, StoreError> {
        require_owned_project(&self.pool, owner, project).await?;
        sqlx::query(
            "INSERT INTO shares (token, project_id, owner_id, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT(project_id) DO NOTHING",
        )
        .bind(new_id())
        .bind(&project.0)
        .bind(&owner.0)
        .bind(now_secs())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        self.current(owner, project)
            .await?
            .ok_or_else(|| db("the share link vanished as it was made"))
    }

    async fn current(
        &self,
        owner: &UserId,
        project: &ProjectId,
    ) -> Result<Option<String>, StoreError> {
        require_owned_project(&self.pool, owner, project).await?;
        let row = sqlx::query("SELECT token FROM shares WHERE project_id = ? AND owner_id = ?")
            .bind(&project.0)
            .bind(&owner.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn revoke(&self, owner: &UserId, project: &ProjectId) -> Result<(), StoreError> {
        require_owned_project(&self.pool, owner, project).await?;
        sqlx::query("DELETE FROM shares WHERE project_id = ? AND owner_id = ?")
            .bind(&project.0)
            .bind(&owner.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn resolve(&self, token: &str) -> Result<Option<(UserId, ProjectId)>, StoreError> {
        // Tokens are 32 hex digits; anything else is not worth a query.
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let row = sqlx::query("SELECT owner_id, project_id FROM shares WHERE token = ?")
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.map(|r| (UserId(r.get(0)), ProjectId(r.get(1)))))
    }
}
