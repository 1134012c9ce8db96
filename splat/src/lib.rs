//! The Gaussian-splat format core. A [`GaussianCloud`] holds splats as the standard 3DGS PLY does
//! (positions, log-scales, rotation quaternions (w,x,y,z), opacity logits, SH DC and higher-order
//! coefficients); this crate reads and writes it as PLY, encodes PlayCanvas's SOG v2 and decodes
//! both v2 and the older v1 "SOGS" (`.sog` bundle or unbundled `meta.json` + WebP). It does no I/O
//! beyond bytes in and out, never panics on bad input and never allocates more than the input can
//! justify, so the same code serves the CLI, the server and the browser (wasm32).

pub mod cloud;
pub mod error;
pub mod ply;
pub mod render;
pub mod sog;
pub mod zip;

pub use cloud::GaussianCloud;
pub use error::FormatError;
