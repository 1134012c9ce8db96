//! 3D Gaussian Splatting training: [`raster`] (the differentiable tile rasterizer and the
//! [`raster::Rasterizer`] backends' trait, with the CPU reference), [`gpu`] (the same rasterizer
//! in wgpu compute shaders), [`loss`] (L1 + D-SSIM), [`train`] (Adam, schedules, adaptive
//! density control, evaluation). The forward pass follows `splat::render` exactly, so the
//! format core's reference renderer is the oracle for the trainer's images, and the CPU
//! backend is the GPU backend's.

// Numeric kernels: index loops over parallel arrays and single-letter names mirror the maths
// (Σ, J, W, T, q, s…) and read better than iterator chains here.
#![allow(clippy::needless_range_loop, clippy::many_single_char_names)]

pub mod gpu;
pub mod loss;
pub mod model;
pub mod pace;
pub mod raster;
pub mod sh;
pub mod state;
pub mod tile;
pub mod train;
