//! Spaceport's photogrammetry pipeline. Each stage reads and writes a job directory
//! ([`job::JobDir`]) so stages can be re-run, resumed and inspected one at a time:
//! [`ingest`] (photos in, validated, downscaled, with a manifest) → [`sfm`] (COLMAP: cameras and
//! sparse points out) → [`train`] (3D Gaussian Splatting, the `trainer` crate) → [`compress`]
//! (SOG, the `splat` crate). [`stage::run`] is the one entry that runs a stage with a job's
//! parameters (`domain::job`); every stage reports [`progress`] lines. [`eval`] measures a
//! reconstruction against ground truth; [`synth`] makes drone-like test scenes with exact
//! cameras. The `spaceport` command line (`src/cli/`) is a thin face over these.

pub mod colmap;
pub mod colmap_model;
pub mod compress;
pub mod eval;
pub mod ingest;
pub mod job;
pub mod progress;
pub mod sfm;
pub mod stage;
pub mod synth;
pub mod train;

// Moved to their own crate (fuzzed on its own); the old paths still name them.
pub use photo::{exif, geo};
