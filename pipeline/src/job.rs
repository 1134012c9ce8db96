//! The job directory: every stage reads its inputs from it and writes its outputs into it, so a
//! job can be resumed from any stage and inspected by hand.
//!
//! ```text
//! JOB/
//!   manifest.json     what ingest accepted and refused, with each photo's EXIF
//!   originals/        the photos exactly as uploaded
//!   images/           working copies (downscaled JPEG with the EXIF COLMAP needs)
//!   sfm/              COLMAP's database, logs and models; sfm/sparse is the final model,
//!                     sfm/undistorted/{images,sparse} the PINHOLE model for training,
//!                     sfm/report.json what happened and how long each step took
//! ```

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct JobDir(PathBuf);

impl JobDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }
    pub fn root(&self) -> &Path {
        &self.0
    }
    pub fn manifest(&self) -> PathBuf {
        self.0.join("manifest.json")
    }
    pub fn originals(&self) -> PathBuf {
        self.0.join("originals")
    }
    pub fn images(&self) -> PathBuf {
        self.0.join("images")
    }
    pub fn sfm(&self) -> PathBuf {
        self.0.join("sfm")
    }
    /// The final sparse model (georegistered when the photos had GPS).
    pub fn sparse(&self) -> PathBuf {
        self.sfm().join("sparse")
    }
    /// The undistorted PINHOLE model and images the trainer reads.
    pub fn undistorted(&self) -> PathBuf {
        self.sfm().join("undistorted")
    }
}

/// Writes a file so that a reader (or a crash) never sees half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
