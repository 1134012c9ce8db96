//! Files whose database rows are gone. Deleting a project removes its rows (uploads and jobs
//! go with it, by cascade) at once; its folders on disk — the photo archive, unfinished upload
//! parts, job folders with every stage's output — are removed by this sweep, which the server
//! runs every minute. A folder goes only once it has been an orphan for two passes in a row: a
//! stage of a deleted project's job is stopped by the runner within a second, and must not be
//! writing into a folder as it is removed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sqlx::SqlitePool;

/// Remembers the orphans of the previous pass.
#[derive(Debug, Default)]
pub struct OrphanSweep {
    previous: HashSet<PathBuf>,
}

impl OrphanSweep {
    /// One pass: removes the folders that were orphans last time and still are; returns them.
    pub async fn pass(&mut self, pool: &SqlitePool, data_dir: &Path) -> Vec<PathBuf> {
        let mut now = HashSet::new();
        for (folder, table) in crate::adapters::layout::DataLayout::OWNED_FOLDERS {
            let owner_query = format!("SELECT 1 FROM {table} WHERE id = ?");
            let Ok(mut entries) = tokio::fs::read_dir(data_dir.join(folder)).await else {
                continue;
            };
            while let Ok(Some(entry)) = entries.next_entry().await {
                let Some(id) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                // Temporary files and anything not named like an id are not ours to judge.
                if id.starts_with('.') || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    continue;
                }
                match sqlx::query(&owner_query)
                    .bind(&id)
                    .fetch_optional(pool)
                    .await
                {
                    Ok(None) => {
                        now.insert(entry.path());
                    }
                    Ok(Some(_)) => {}
                    // A database hiccup proves nothing: keep the folder.
                    Err(e) => {
                        tracing::warn!(error = %e, "checking a folder's owner");
                    }
                }
            }
        }
        let mut removed = Vec::new();
        for path in now.intersection(&self.previous) {
            match tokio::fs::remove_dir_all(path).await {
                Ok(()) => removed.push(path.clone()),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "removing an orphaned folder");
                }
            }
        }
        self.previous = now;
        removed
    }
}
