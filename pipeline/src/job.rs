//! The job directory: every stage reads its inputs from it and writes its outputs into it, so a
//! job can be resumed from any stage and inspected by hand. `JobDir` is the one place that knows
//! the layout; the files a delivered job offers take their paths from
//! `domain::job::DeliveredFile`, which the servers use to find them.
//!
//! ```text
//! JOB/
//!   manifest.json     what ingest accepted and refused, with each photo's EXIF
//!   originals/        the photos exactly as uploaded
//!   images/           working copies (downscaled JPEG with the EXIF COLMAP needs)
//!   sfm/              COLMAP's database, logs and models; sfm/sparse is the final model,
//!                     sfm/undistorted/{images,sparse} the PINHOLE model for training,
//!                     sfm/report.json what happened and how long each step took,
//!                     sfm/geo.json the georegistration's origin (when the photos had GPS)
//!   train/            point_cloud.ply (the model), report.json (held-out PSNR/SSIM…),
//!                     eval/NAME.png (held-out photo beside its render), checkpoint.{ply,json}
//!   model.sog         the compressed model the viewer streams
//! ```

use std::path::{Path, PathBuf};

use domain::job::{DeliveredFile, Stage};

#[derive(Debug, Clone)]
pub struct JobDir(PathBuf);

impl JobDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }
    pub fn root(&self) -> &Path {
        &self.0
    }
    /// A file the job delivers (`model.sog`, the PLY, the report, the georegistration).
    pub fn delivered(&self, file: DeliveredFile) -> PathBuf {
        self.0.join(file.path())
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
    /// Each stage that keeps working files has a folder named after it.
    pub fn sfm(&self) -> PathBuf {
        self.0.join(Stage::Sfm.as_str())
    }
    /// The final sparse model (georegistered when the photos had GPS).
    pub fn sparse(&self) -> PathBuf {
        self.sfm().join("sparse")
    }
    /// The undistorted PINHOLE model and images the trainer reads.
    pub fn undistorted(&self) -> PathBuf {
        self.sfm().join("undistorted")
    }
    /// What Structure-from-Motion did and how long each step took.
    pub fn sfm_report(&self) -> PathBuf {
        self.sfm().join("report.json")
    }
    /// The training stage's folder.
    pub fn train(&self) -> PathBuf {
        self.0.join(Stage::Train.as_str())
    }
    /// The held-out photos beside their renders.
    pub fn eval(&self) -> PathBuf {
        self.train().join("eval")
    }
    /// The latest training checkpoint: the run's whole state (`trainer::state::State`).
    pub fn checkpoint(&self) -> PathBuf {
        self.train().join("checkpoint.bin")
    }
}

/// Writes a file so that a reader (or a crash) never sees half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_files_are_where_the_stages_write_them() {
        let job = JobDir::new("/jobs/j1");
        assert_eq!(
            job.delivered(DeliveredFile::Ply),
            job.train().join("point_cloud.ply")
        );
        assert_eq!(
            job.delivered(DeliveredFile::Report),
            job.train().join("report.json")
        );
        assert_eq!(
            job.delivered(DeliveredFile::Geo),
            job.sfm().join("geo.json")
        );
        assert_eq!(
            job.delivered(DeliveredFile::Sog),
            job.root().join("model.sog")
        );
    }
}
