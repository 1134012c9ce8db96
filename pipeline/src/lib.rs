//! Spaceport's photogrammetry pipeline. Each stage reads and writes a job directory
//! ([`job::JobDir`]) so stages can be re-run, resumed and inspected one at a time:
//! [`ingest`] (photos in, validated, downscaled, with a manifest) → [`sfm`] (COLMAP: cameras and
//! sparse points out) → training and compression (the `splat` crate). [`eval`] measures a
//! reconstruction against ground truth; [`synth`] makes drone-like test scenes with exact cameras.

pub mod colmap;
pub mod colmap_model;
pub mod eval;
pub mod exif;
pub mod geo;
pub mod ingest;
pub mod job;
pub mod progress;
pub mod sfm;
pub mod synth;
pub mod train;
