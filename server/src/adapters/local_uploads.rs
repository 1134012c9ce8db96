//! `UploadStore` on local disk: parts under `DATA_DIR/uploads/ID/`, bookkeeping in SQLite, the
//! assembled archive at `DATA_DIR/projects/PROJECT/photos.zip`. Each part is written to a
//! temporary file and renamed, so a killed server never leaves a half part counted as received;
//! a part sent twice simply replaces itself.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use domain::ports::{UploadSession, UploadStore};
use domain::{ProjectId, ProjectStatus, StoreError, UserId, ValidationError};
use sqlx::{Row, SqlitePool};

use crate::adapters::internal;
use crate::adapters::layout::DataLayout;
use ids::{new_id, now_secs};

/// Part size handed to clients: large enough for throughput, small enough to retry cheaply.
pub const PART_SIZE: u64 = 8 << 20;
/// Unfinished uploads a user may have at once.
const MAX_OPEN_UPLOADS: i64 = 20;

pub struct LocalUploads {
    pool: SqlitePool,
    layout: DataLayout,
    max_size: u64,
    /// What one user's photos may take in all (`user_quota_bytes`).
    quota: u64,
    /// Room always left on the data disk (`min_free_bytes`).
    keep_free: u64,
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(internal(e))
}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("disk: {e}"))
}

fn invalid(field: &str, message: impl Into<String>) -> StoreError {
    StoreError::Validation(ValidationError::new(field, message))
}

impl LocalUploads {
    pub fn new(pool: SqlitePool, layout: DataLayout, max_size: u64) -> Self {
        Self {
            pool,
            layout,
            max_size,
            quota: u64::MAX,
            keep_free: 0,
        }
    }

    /// Limits the photos one user may keep (`quota` bytes, unfinished uploads included) and
    /// keeps `keep_free` bytes free on the data disk.
    #[must_use]
    pub fn with_limits(mut self, quota: u64, keep_free: u64) -> Self {
        self.quota = quota;
        self.keep_free = keep_free;
        self
    }

    fn part_dir(&self, id: &str) -> PathBuf {
        self.layout.upload_parts(id)
    }

    /// Removes unfinished uploads older than `max_age_secs` and their parts.
    pub async fn clean_stale(&self, max_age_secs: i64) -> Result<u64, StoreError> {
        let rows =
            sqlx::query("SELECT id FROM uploads WHERE completed_at IS NULL AND created_at < ?")
                .bind(now_secs() - max_age_secs)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        for row in &rows {
            let id: String = row.get(0);
            let _ = tokio::fs::remove_dir_all(self.part_dir(&id)).await;
            sqlx::query("DELETE FROM uploads WHERE id = ?")
                .bind(&id)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        }
        Ok(rows.len() as u64)
    }
}

#[async_trait]
impl UploadStore for LocalUploads {
    async fn create(
        &self,
        owner: &UserId,
        project: &ProjectId,
        file_name: &str,
        size: u64,
    ) -> Result<UploadSession, StoreError> {
        crate::adapters::require_owned_project(&self.pool, owner, project).await?;
        let name = domain::ports::check_new_upload(file_name, size, self.max_size)?;
        let open: i64 =
            sqlx::query("SELECT COUNT(*) FROM uploads WHERE owner_id = ? AND completed_at IS NULL")
                .bind(&owner.0)
                .fetch_one(&self.pool)
                .await
                .map_err(db)?
                .get(0);
        if open >= MAX_OPEN_UPLOADS {
            return Err(StoreError::LimitReached(format!(
                "{MAX_OPEN_UPLOADS} unfinished uploads"
            )));
        }
        let parts = u32::try_from(size.div_ceil(PART_SIZE))
            .map_err(|_| invalid("file", "the file is too large"))?;
        // The parts, then the assembled archive beside them.
        crate::disk::check_room(self.layout.root(), size.saturating_mul(2), self.keep_free)?;
        let id = new_id();
        // The quota is checked by the insert itself, so uploads started at the same moment
        // cannot together pass it. A user's photos: every unfinished upload, and the archive
        // each project holds (its newest completed upload; an older one was replaced).
        let quota = i64::try_from(self.quota).unwrap_or(i64::MAX);
        let size_i64 = i64::try_from(size).map_err(db)?;
        let inserted = sqlx::query(
            "INSERT INTO uploads (id, owner_id, project_id, file_name, size, part_size, parts, created_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 \
             WHERE ?5 + (SELECT COALESCE(SUM(size), 0) FROM uploads u WHERE owner_id = ?2 \
                 AND (completed_at IS NULL OR completed_at = (SELECT MAX(v.completed_at) \
                     FROM uploads v WHERE v.project_id = u.project_id))) <= ?9",
        )
        .bind(&id)
        .bind(&owner.0)
        .bind(&project.0)
        .bind(name)
        .bind(size_i64)
        .bind(i64::try_from(PART_SIZE).map_err(db)?)
        .bind(i64::from(parts))
        .bind(now_secs())
        .bind(quota)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::LimitReached(format!(
                "your photos may take {} in all, and this upload would pass that; delete a \
                 project you no longer need, or cancel an unfinished upload",
                crate::disk::size_text(self.quota)
            )));
        }
        tokio::fs::create_dir_all(self.part_dir(&id))
            .await
            .map_err(io)?;
        self.get(owner, &id).await
    }

    async fn get(&self, owner: &UserId, id: &str) -> Result<UploadSession, StoreError> {
        let row = sqlx::query(
            "SELECT project_id, file_name, size, part_size, parts, completed_at FROM uploads WHERE id = ? AND owner_id = ?",
        )
        .bind(id)
        .bind(&owner.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound)?;
        let received =
            sqlx::query("SELECT part FROM upload_parts WHERE upload_id = ? ORDER BY part")
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?
                .iter()
                .map(|r| u32::try_from(r.get::<i64, _>(0)).unwrap_or(0))
                .collect();
        let completed: Option<i64> = row.get(5);
        Ok(UploadSession {
            id: id.to_owned(),
            project: ProjectId(row.get(0)),
            file_name: row.get(1),
            size: u64::try_from(row.get::<i64, _>(2)).map_err(db)?,
            part_size: u64::try_from(row.get::<i64, _>(3)).map_err(db)?,
            parts: u32::try_from(row.get::<i64, _>(4)).map_err(db)?,
            received,
            completed: completed.is_some(),
        })
    }

    async fn put_part(
        &self,
        owner: &UserId,
        id: &str,
        part: u32,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let s = self.get(owner, id).await?;
        let want = s.open_part(part)?;
        if bytes.len() as u64 != want {
            return Err(invalid(
                "part",
                format!("part {part} must be {want} bytes, got {}", bytes.len()),
            ));
        }
        crate::disk::check_room(self.layout.root(), want, self.keep_free)?;
        let dir = self.part_dir(id);
        let path = dir.join(format!("{part:05}.part"));
        let tmp = dir.join(format!("{part:05}.tmp"));
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        tokio::fs::write(&tmp, bytes).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        sqlx::query("INSERT OR REPLACE INTO upload_parts (upload_id, part, size) VALUES (?, ?, ?)")
            .bind(id)
            .bind(i64::from(part))
            .bind(i64::try_from(want).map_err(db)?)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn complete(&self, owner: &UserId, id: &str) -> Result<UploadSession, StoreError> {
        let s = self.get(owner, id).await?;
        if s.completed {
            return Ok(s);
        }
        s.check_all_received(&s.received)?;
        crate::disk::check_room(self.layout.root(), s.size, self.keep_free)?;
        let archive = self.layout.archive(&s.project);
        let parent = archive.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = self.part_dir(id);
        let tmp = parent.join(format!("photos.{id}.tmp"));
        let size = tokio::task::spawn_blocking({
            let (tmp, dir, parts) = (tmp.clone(), dir.clone(), s.parts);
            move || -> std::io::Result<u64> {
                std::fs::create_dir_all(tmp.parent().unwrap_or(Path::new(".")))?;
                let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
                let mut total = 0;
                for p in 1..=parts {
                    let mut f = std::fs::File::open(dir.join(format!("{p:05}.part")))?;
                    total += std::io::copy(&mut f, &mut out)?;
                }
                std::io::Write::flush(&mut out)?;
                out.into_inner()
                    .map_err(std::io::IntoInnerError::into_error)?
                    .sync_all()?;
                Ok(total)
            }
        })
        .await
        .map_err(io)?
        .map_err(io)?;
        if size != s.size {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(StoreError::Internal(format!(
                "assembled {size} bytes, expected {}",
                s.size
            )));
        }
        tokio::fs::rename(&tmp, &archive).await.map_err(io)?;
        // The upload's end and its project's status in one transaction: written one after the
        // other, a crash between them left a completed upload whose project still asked for
        // photos (and `complete` answered "already complete" without fixing it).
        let now = now_secs();
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("UPDATE uploads SET completed_at = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("UPDATE projects SET status = ?, updated_at = ? WHERE id = ? AND owner_id = ?")
            .bind(ProjectStatus::PhotosUploaded.as_str())
            .bind(now)
            .bind(&s.project.0)
            .bind(&owner.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        self.get(owner, id).await
    }
}
