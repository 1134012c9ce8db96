//! Where the embedded adapters keep files under the data directory, in one place: the uploads
//! adapter writes a project's photo archive where the job runner reads it, the runner writes job
//! folders where the delivered-files adapter serves them, and the orphan sweep walks all three.
//!
//! ```text
//! DATA_DIR/
//!   spaceport.db
//!   projects/PROJECT/photos.zip   the assembled photo archive (uploads → ingest)
//!   uploads/UPLOAD/               parts of an unfinished upload
//!   jobs/JOB/                     a job's folder (layout: `pipeline::job::JobDir`)
//!   dem/                          SRTM tiles for flight plans, if any
//! ```

use std::path::{Path, PathBuf};

use domain::ProjectId;

/// The data directory's layout.
#[derive(Debug, Clone)]
pub struct DataLayout {
    root: PathBuf,
}

impl DataLayout {
    /// The folders under the root that hold one entry per database row, with the table that
    /// owns them (for the orphan sweep).
    pub const OWNED_FOLDERS: [(&'static str, &'static str); 3] = [
        ("projects", "projects"),
        ("uploads", "uploads"),
        ("jobs", "jobs"),
    ];

    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A project's completed photo archive.
    pub fn archive(&self, project: &ProjectId) -> PathBuf {
        self.root
            .join("projects")
            .join(&project.0)
            .join("photos.zip")
    }

    /// The parts of an unfinished upload.
    pub fn upload_parts(&self, upload: &str) -> PathBuf {
        self.root.join("uploads").join(upload)
    }

    /// A job's folder.
    pub fn job(&self, job: &str) -> PathBuf {
        self.root.join("jobs").join(job)
    }
}
