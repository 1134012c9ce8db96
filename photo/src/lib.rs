//! What a photo file says about itself, read from its bytes without decoding its pixels:
//! [`header`] (format and size, and a sentence for what a file is when it is not a photo),
//! [`exif`] (camera, focal length, GPS position, capture time, orientation — read, and written
//! back into working copies) and [`geo`] (WGS84 ↔ a local east-north-up frame in metres).
//!
//! Every function here takes untrusted bytes from an upload, so the crate is small, does no
//! I/O, and is fuzzed on its own (`photo/fuzz`, run by `scripts/fuzz.sh`).

pub mod exif;
pub mod geo;
pub mod header;
